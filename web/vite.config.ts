import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served under /app/ (locally by `make run`, on AWS by CloudFront). The build puts no inline
// script in index.html, so the Content-Security-Policy can forbid them (script-src 'self').
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    // `npm run dev`: the API, the hosted sign-in pages and config.json come from `make run`.
    proxy: {
      "^/(?!app/|@|src/|node_modules/).*": { target: "http://127.0.0.1:3000", changeOrigin: false },
      "/app/config.json": { target: "http://127.0.0.1:3000" },
    },
  },
});

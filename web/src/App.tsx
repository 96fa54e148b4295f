import { lazy, Suspense, type ComponentType } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { Layout, Loading } from "./components/Layout";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { AuthCallback, NotFound, SignedOut } from "./pages/Auth";
import { ConnectionComplete } from "./pages/ConnectionComplete";
import { Home } from "./pages/Home";

/** A screen loaded when first opened (its own chunk): the landing screens above load at once. */
function screen<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  return lazy(() => load().then((module) => ({ default: module[name] })));
}

const CustomersPage = screen(() => import("./pages/Customers"), "CustomersPage");
const CustomerPage = screen(() => import("./pages/Customer"), "CustomerPage");
const DataRefreshPage = screen(() => import("./pages/DataRefresh"), "DataRefreshPage");
const RefreshJobsPage = screen(() => import("./pages/DataRefresh"), "RefreshJobsPage");
const RefreshJobPage = screen(() => import("./pages/DataRefresh"), "RefreshJobPage");
const MyBankPage = screen(() => import("./pages/MyBank"), "MyBankPage");
const ConnectBankPage = screen(() => import("./pages/MyBank"), "ConnectBankPage");
const EulaPage = screen(() => import("./pages/MyBank"), "EulaPage");
const NotificationsPage = screen(() => import("./pages/MyBank"), "NotificationsPage");
const MyFilesPage = screen(() => import("./pages/ClientFile"), "MyFilesPage");
const ClientFilePage = screen(() => import("./pages/ClientFile"), "ClientFilePage");
const AdminPage = screen(() => import("./pages/Admin"), "AdminPage");

// Every path an email or a redirect opens is a screen here (the backend builds them from
// APP_BASE_URL: shared/services/emails.py and the callbacks).
export function App() {
  return (
    <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
      <Layout>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Home />} />
            <Route path="/auth/callback" element={<AuthCallback />} />
            <Route path="/auth/signed-out" element={<SignedOut />} />
            <Route path="/invitations/accept" element={<AcceptInvitation kind="customer" />} />
            <Route path="/file-invitations/accept" element={<AcceptInvitation kind="file" />} />
            <Route path="/staff-invitations/accept" element={<AcceptInvitation kind="staff" />} />
            <Route path="/connections/complete" element={<ConnectionComplete />} />
            <Route path="/customers" element={<CustomersPage />} />
            <Route path="/customers/:customerId" element={<CustomerPage />} />
            <Route path="/data-refresh" element={<DataRefreshPage />} />
            <Route path="/data-refresh/jobs" element={<RefreshJobsPage />} />
            <Route path="/data-refresh/jobs/:jobId" element={<RefreshJobPage />} />
            <Route path="/me" element={<MyBankPage />} />
            <Route path="/me/connect" element={<ConnectBankPage />} />
            <Route path="/me/eula" element={<EulaPage />} />
            <Route path="/notifications" element={<NotificationsPage />} />
            <Route path="/firm" element={<AdminPage />} />
            <Route path="/files" element={<MyFilesPage />} />
            <Route path="/files/:fileId" element={<ClientFilePage />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </Layout>
    </BrowserRouter>
  );
}

import { BrowserRouter, Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { AdminPage } from "./pages/Admin";
import { AuthCallback, NotFound, SignedOut } from "./pages/Auth";
import { ClientFilePage, MyFilesPage } from "./pages/ClientFile";
import { ConnectionComplete } from "./pages/ConnectionComplete";
import { CustomerPage } from "./pages/Customer";
import { CustomersPage } from "./pages/Customers";
import { DataRefreshPage, RefreshJobPage, RefreshJobsPage } from "./pages/DataRefresh";
import { Home } from "./pages/Home";
import { ConnectBankPage, EulaPage, MyBankPage, NotificationsPage } from "./pages/MyBank";

// Every path an email or a redirect opens is a screen here (the backend builds them from
// APP_BASE_URL: shared/services/*_links and the callbacks).
export function App() {
  return (
    <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
      <Layout>
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
      </Layout>
    </BrowserRouter>
  );
}

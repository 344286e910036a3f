'use client';
/** Import: upload a pcap / pcapng for analysis (admins) and the list of every capture. */
import { useState } from 'react';
import { CaptureList } from '@/components/import/capture-list';
import styles from '@/components/import/import.module.css';
import { Uploader } from '@/components/import/uploader';
import { useIsAdmin } from '@/lib/auth';

export default function ImportPage() {
  const admin = useIsAdmin();
  const [uploaded, setUploaded] = useState<string | null>(null);
  const [reloadKey, setReloadKey] = useState(0);
  return (
    <div className={styles.page}>
      <h1>Import</h1>
      {admin ? (
        <Uploader
          onUploaded={(id) => {
            setUploaded(id);
            setReloadKey((k) => k + 1);
          }}
        />
      ) : (
        <div className="alert info" data-testid="upload-forbidden">
          Uploading captures needs the admin role: an upload runs the analysis on the server and stores what it finds. Ask an admin to upload the file, or to
          give you the role. You can open every capture below.
        </div>
      )}
      <CaptureList highlight={uploaded} reloadKey={reloadKey} />
    </div>
  );
}

import { useEffect, useState } from "preact/hooks";
import { authorizedObjectUrl } from "../api/client";

/**
 * A ticket's QR code. The API serves it to the holder's bearer token only, which an <img src>
 * cannot send, so it is fetched and shown from an object URL.
 */
export function TicketQr({ path, label }: { path: string; label: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    authorizedObjectUrl(path).then(
      (objectUrl) => {
        url = objectUrl;
        if (live) setSrc(objectUrl);
        else URL.revokeObjectURL(objectUrl);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  if (failed) return <span class="qr qr-missing">{label}</span>;
  return src ? <img class="qr" src={src} alt={label} width={160} height={160} /> : <span class="qr qr-loading" />;
}

/** Downloads a file the API serves only to the bearer (the PDF ticket). */
export async function downloadAuthorized(path: string, filename: string) {
  const url = await authorizedObjectUrl(path);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

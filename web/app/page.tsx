"use client";
// The harness's page: installs window.storebench (lib/bench.ts) once it is in the browser.
import { useEffect } from "react";
import { install } from "../lib/bench";

export default function Page() {
  useEffect(install, []);
  return (
    <main>
      <h1>storebench</h1>
      <p>The design document&apos;s two architectures, driven from this page: Next.js API routes, or @libsql/client/web straight to Turso.</p>
    </main>
  );
}

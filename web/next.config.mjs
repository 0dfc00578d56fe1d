// Cross-origin isolation (COOP + COEP) gives the page a finer performance.now(): 5 µs instead
// of Chromium's 100 µs. Requests to the libSQL server are CORS requests, which COEP allows.
const isolation = [
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Cross-Origin-Embedder-Policy", value: "require-corp" },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  async headers() {
    return [{ source: "/:path*", headers: isolation }];
  },
};

export default nextConfig;

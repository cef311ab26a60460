import { defineConfig } from 'vite';

// `npm run build` writes dist/, which `windlass server` embeds at compile
// time (crates/server/build.rs) and serves at / (index.html for the app's
// addresses) and /assets/ (hashed files).
export default defineConfig({
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    // The diagram viewer (bpmn-js + bpmn-auto-layout) is one chunk loaded on first use.
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a running `windlass server` on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});

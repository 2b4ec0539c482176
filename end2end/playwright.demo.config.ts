import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The demo (`palomar demo`: embedded store, the simulator making traffic), started by
// scripts/test.sh: its charts have data points from the simulated traffic.
export default defineConfig({
  ...base,
  testDir: "./demo",
  use: { ...base.use, baseURL: process.env.PALOMAR_DEMO_URL ?? "http://127.0.0.1:8000" },
});

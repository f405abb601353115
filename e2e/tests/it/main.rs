//! End-to-end tests of the UI in real engines.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

/// In the desktop app under Xvfb, through tauri-driver and WebKitWebDriver.
mod app;
/// In headless Chromium against `stackdesk ui` (the browser mode).
mod browser;
/// The Linux package: installed, run, removed.
mod package;
/// The learner's path through the UI, shared by both engines.
mod scenario;
/// The Windows build under Wine: the CLI's processes, and the installer.
mod windows;

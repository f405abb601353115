//! End-to-end tests of the UI in real engines.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

/// In the desktop app under Xvfb, through tauri-driver and WebKitWebDriver.
mod app;
/// In headless Chromium against `stackdesk ui` (the browser mode).
mod browser;
/// Health beside the process states: Redis stopped shows the stack partly running; a saved port waits for the restart.
mod health;
/// Motion on the lifecycle diagram: a retry's countdown, a killed worker's task coming back.
mod motion;
/// The Linux package: installed, run, removed.
mod package;
/// The diagrams on a projector: every language, theme, look and size, checked as a class sees them.
mod presenter;
/// The Russian UI: no English outside the glossary's allowlist, errors and numbers in Russian.
mod russian;
/// The learner's path through the UI, shared by both engines.
mod scenario;
/// The Windows build under Wine: the CLI's processes, and the installer.
mod windows;

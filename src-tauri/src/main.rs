//! The Stackdesk desktop app. Everything happens in the library.

// No console window next to the app on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    stackdesk_app::run();
}

// The one list of the app's commands. `build.rs` includes this file to tell tauri-build about them
// (it makes their `allow-*` permissions), `lib.rs` expands it into `generate_handler!`, and a test
// checks that `capabilities/default.json` grants exactly these: adding a command is adding it here
// and granting it there.
//
// `with_commands!(m)` calls `m!(command, …)`.
macro_rules! with_commands {
    ($then:ident) => {
        $then!(
            snapshot,
            stack,
            process_action,
            logs,
            settings,
            save_settings,
            test_telegram,
            open_target,
            subscribe,
            browser_url,
            close_answer,
            redis_server,
            save_export,
            set_fullscreen
        )
    };
}

// `with_commands!(names)`: the list as `&[&str]`.
macro_rules! names {
    ($($command:ident),*) => {
        &[$(stringify!($command)),*]
    };
}

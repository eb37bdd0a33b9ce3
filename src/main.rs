//! The `castbook` binary: parse the command line into a plan, then run it.
//! Exit codes: 2 for usage, input and config errors, 1 for failures while
//! rendering.

mod cli;
mod commands;

use std::process::ExitCode;

fn main() -> ExitCode {
    let plan = match cli::parse() {
        Ok(plan) => plan,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("castbook: error: {}", one_line(&err));
            ExitCode::from(if err.is::<commands::InputError>() {
                2
            } else {
                1
            })
        }
    }
}

/// Error chains on one line: "outer: inner: root".
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

//! The `castbook` binary: parse the command line into a plan, then run it.
//!
//! Errors are decided here, once: [`exit_code`] walks an error's causes to
//! pick the exit status (0 when the reader of our output went away, 2 for
//! usage, input and config errors, 1 for failures while working), and the
//! error prints as one line, each cause said once (`{:#}`).

mod cli;
mod commands;

use std::process::ExitCode;

use castbook::cast::ConfigError;
use castbook::ingest::IngestError;
use castbook::script::ScriptError;
use castbook::synth::SynthError;

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
            let code = exit_code(&err);
            if code != 0 {
                eprintln!("castbook: error: {err:#}");
            }
            ExitCode::from(code)
        }
    }
}

/// The exit status for `err`, from what caused it.
///
/// A broken pipe means whoever read our output stopped reading
/// (`castbook voices | head`): that is how they said "enough", so it is a
/// quiet success, as in ripgrep. Mistakes in what the user gave us (the
/// story, voices.toml, a script, a voice, the command line) are 2; anything
/// that went wrong while working is 1.
fn exit_code(err: &anyhow::Error) -> u8 {
    let mut code = 1;
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return 0;
        }
        let input = cause.is::<commands::InputError>()
            || cause.is::<ConfigError>()
            || cause.is::<IngestError>()
            || cause.is::<ScriptError>()
            || cause.is::<castbook::cast::write::WriteError>()
            || matches!(
                cause.downcast_ref::<SynthError>(),
                Some(SynthError::UnknownVoice { .. })
            );
        if input {
            code = 2;
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_come_from_the_causes() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(exit_code(&anyhow::Error::new(pipe).context("writing")), 0);
        let config = ConfigError::Unplaced {
            message: "bad".to_owned(),
        };
        assert_eq!(exit_code(&anyhow::Error::new(config).context("casting")), 2);
        let failed = SynthError::Failed {
            engine: castbook::core::EngineKind::Espeak,
            text: "Hi.".to_owned(),
            reason: "no".to_owned(),
        };
        assert_eq!(exit_code(&failed.into()), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("disk full")), 1);
    }
}

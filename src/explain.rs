//! The library's errors as the command line says them: a setting by the flag
//! that sets it, and the way out that a command offers (`--resume`,
//! `--epochs`, another `--artifacts` folder).

use rnnlm::Error;
use rnnlm::data::corpus::DataError;
use rnnlm::error::RunError;

/// Why a command failed, in the one line `main` prints after `error: `.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(explain(&e))
    }
}

impl From<DataError> for Failure {
    fn from(e: DataError) -> Self {
        Error::from(e).into()
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure(message.to_string())
    }
}

/// The flag of a setting: `batch_size` is set by `--batch-size`.
fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

pub(crate) fn explain(e: &Error) -> String {
    match e {
        Error::Setting { name, problem } => format!("{} {problem}", flag(name)),
        Error::Init(inner) => {
            let hint = match **inner {
                Error::Weights(_) => " (give the sizes it was trained with: --model, --wordvec-size, --hidden-size)",
                _ => "",
            };
            format!("--init: {}{hint}", explain(inner))
        }
        Error::Run(RunError::Exists { .. }) => {
            format!("{e}; continue it with --resume, or choose another --artifacts folder")
        }
        Error::Run(RunError::Differs { .. }) => {
            format!("{e}; resume with its settings or choose another --artifacts folder")
        }
        Error::Run(RunError::OtherCorpus { .. }) => {
            format!("{e}; resume it on the corpus it trained on, or choose another --artifacts folder")
        }
        Error::Data(DataError::VocabLimit(k)) => {
            format!("--vocab-size must be at least 2 (one word and <unk>), not {k}")
        }
        Error::Run(RunError::Finished { .. }) => format!("{e}; ask for more with --epochs"),
        Error::Run(RunError::NothingToResume { .. }) => format!("{e}; start it without --resume"),
        Error::Run(RunError::Busy { .. }) => {
            format!("{e}; wait for it to finish, or choose another --artifacts folder")
        }
        Error::Diverged { .. } => format!("{e} (try a smaller --lr or --max-grad)"),
        Error::NoGpuAdapter => format!("{e} or use `--backend flex`"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_named_by_its_flag() {
        let e = Error::setting("eval_batch_size", "must be at least 1");
        assert_eq!(e.to_string(), "eval_batch_size must be at least 1");
        assert_eq!(explain(&e), "--eval-batch-size must be at least 1");
        let init = Error::Init(Box::new(Error::setting("corpus_size", "is 3")));
        assert_eq!(explain(&init), "--init: --corpus-size is 3");
    }
}

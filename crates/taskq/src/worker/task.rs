//! Task handlers, their registry, and the one place that decides what a failure leads to.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::backend::ExceptionInfo;

/// What a handler knows about the task it runs.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The task id (the same across retries).
    pub id: String,
    /// The registered name.
    pub name: String,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
    /// How many times it was retried before this attempt.
    pub retries: u32,
    /// The worker running it (`name@host`).
    pub hostname: String,
    /// The retry limit that applies to this task (`None`: unlimited).
    pub max_retries: Option<u32>,
    /// Fires when the task must stop early (the worker's shutdown deadline passed); handlers doing
    /// long waits should race it.
    pub cancel: CancellationToken,
}

/// How a task attempt failed, and what it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    /// `self.retry(exc=error, countdown=after)`: try again later (after the task's default delay
    /// when `after` is `None`), unless no retries are left, in which case the task fails with `error`.
    Retry {
        /// Delay before the next attempt.
        after: Option<Duration>,
        /// Why this attempt failed.
        error: ExceptionInfo,
    },
    /// Give up now: the task fails with `error`.
    Fail(ExceptionInfo),
}

impl TaskError {
    /// A retry after `after` because of `error`.
    pub fn retry_after(after: Duration, error: ExceptionInfo) -> Self {
        Self::Retry { after: Some(after), error }
    }
}

/// What a handler returns: the result value, or how it failed.
pub type TaskResult = Result<Value, TaskError>;

/// A boxed handler future.
pub type TaskFuture = Pin<Box<dyn Future<Output = TaskResult> + Send>>;

/// An async task handler.
pub trait Task: Send + Sync + 'static {
    /// Runs one attempt.
    fn run(&self, ctx: TaskContext) -> TaskFuture;
}

impl<F, Fut> Task for F
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskResult> + Send + 'static,
{
    fn run(&self, ctx: TaskContext) -> TaskFuture {
        Box::pin(self(ctx))
    }
}

/// Per-task settings (Celery's task attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOptions {
    /// `max_retries`: retries allowed after the first attempt (`None`: unlimited). Celery's default is 3.
    pub max_retries: Option<u32>,
    /// `default_retry_delay`, used when a retry names no countdown. Celery's default is 180 s.
    pub default_retry_delay: Duration,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self { max_retries: Some(3), default_retry_delay: Duration::from_secs(180) }
    }
}

/// A registered handler with its options.
#[derive(Clone)]
pub(crate) struct Registered {
    pub(crate) task: Arc<dyn Task>,
    pub(crate) options: TaskOptions,
}

/// Named task handlers a worker can run.
#[derive(Clone, Default)]
pub struct Registry {
    tasks: HashMap<String, Registered>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.tasks.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `task` under `name` (replacing any earlier one).
    pub fn register(&mut self, name: &str, options: TaskOptions, task: impl Task) -> &mut Self {
        self.tasks.insert(name.into(), Registered { task: Arc::new(task), options });
        self
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tasks.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Registered> {
        self.tasks.get(name)
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Store SUCCESS with this value.
    Succeed(Value),
    /// Store RETRY and publish the next attempt to run after `countdown`.
    Retry {
        /// Delay before the next attempt.
        countdown: Duration,
        /// Why this attempt failed.
        error: ExceptionInfo,
    },
    /// Store FAILURE.
    Fail(ExceptionInfo),
}

/// Decides what an attempt's outcome leads to, with Celery's rules: a retry is granted while
/// `retries < max_retries` (so `max_retries = 3` allows four attempts), otherwise the retry's own
/// error becomes the failure.
pub fn decide(outcome: TaskResult, retries: u32, options: &TaskOptions) -> Decision {
    match outcome {
        Ok(value) => Decision::Succeed(value),
        Err(TaskError::Fail(error)) => Decision::Fail(error),
        Err(TaskError::Retry { after, error }) => {
            if options.max_retries.is_some_and(|max| retries >= max) {
                Decision::Fail(error)
            } else {
                Decision::Retry { countdown: after.unwrap_or(options.default_retry_delay), error }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn boom() -> ExceptionInfo {
        ExceptionInfo::runtime_error("boom")
    }

    #[test]
    fn retries_until_the_limit_then_fails() {
        let options = TaskOptions { max_retries: Some(3), default_retry_delay: Duration::from_secs(9) };
        let retry = || Err(TaskError::retry_after(Duration::from_secs(5), boom()));
        for retries in 0..3 {
            assert_eq!(
                decide(retry(), retries, &options),
                Decision::Retry { countdown: Duration::from_secs(5), error: boom() }
            );
        }
        assert_eq!(decide(retry(), 3, &options), Decision::Fail(boom()));
    }

    #[test]
    fn default_delay_and_unlimited_retries() {
        let options = TaskOptions { max_retries: None, default_retry_delay: Duration::from_secs(9) };
        let outcome = Err(TaskError::Retry { after: None, error: boom() });
        assert_eq!(
            decide(outcome, 1000, &options),
            Decision::Retry { countdown: Duration::from_secs(9), error: boom() }
        );
    }

    #[test]
    fn fail_and_success_pass_through() {
        let options = TaskOptions::default();
        assert_eq!(decide(Err(TaskError::Fail(boom())), 0, &options), Decision::Fail(boom()));
        assert_eq!(decide(Ok(json!(1)), 0, &options), Decision::Succeed(json!(1)));
    }
}

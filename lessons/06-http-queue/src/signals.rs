//! SIGINT and SIGTERM, turned into the two stops: the first signal asks for a graceful
//! shutdown, the second for stop-now.

use crate::say;
use course_support::log::Format;
use tokio_util::sync::CancellationToken;

// ANCHOR: signals
/// SIGINT (Ctrl-C) and SIGTERM (what `kill`, systemd, Docker and Kubernetes send) mean the same
/// here: the first asks for a graceful shutdown, the second for stop-now.
pub struct Signals {
    /// SIGINT, what Ctrl-C sends.
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    /// SIGTERM, what service managers send.
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn listen() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "Ctrl-C (SIGINT)",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }

    pub async fn watch(
        mut self,
        format: Format,
        graceful: CancellationToken,
        stop_now: CancellationToken,
    ) {
        let first = self.next().await;
        say(
            format,
            &format!(
                "\n{first}: no new connections; open requests get their answer and every \
                 accepted task is finished. Send it again to stop now."
            ),
        );
        graceful.cancel();
        let second = self.next().await;
        say(
            format,
            &format!(
                "\n{second}: stopping now; queued tasks will not start, running ones are \
                 interrupted."
            ),
        );
        stop_now.cancel();
    }
}
// ANCHOR_END: signals

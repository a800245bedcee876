//! Connections that must keep the conversation moving: a listener that closes a connection
//! which sends no whole request in time, and caps how many are open at once.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

// ANCHOR: deadline
/// New: a TCP listener whose connections must keep the conversation moving. A connection that
/// goes twice the request timeout without the server sending it anything (since it connected,
/// or since its last answer) is closed. That bounds the clients no handler ever sees: one that
/// connects and says nothing, one that sends its request head a byte at a time, one that keeps
/// an idle connection open. axum's `serve` has no time limit of its own for them, and without
/// one each holds a connection, a task and up to about 400 KiB of buffered head for as long as
/// it likes, and holds up a graceful shutdown too. Twice, so that a slow body is first answered
/// `408` by [`router_with_timeout`]'s limit. And at most `max_connections` are open at once: a
/// deadline bounds how long each stalled client costs, the cap bounds how many there are, and so
/// the memory they can hold. Beyond the cap, new connections wait in the kernel's backlog.
///
/// [`router_with_timeout`]: crate::router_with_timeout
pub struct DeadlineListener {
    /// Where connections come from.
    listener: tokio::net::TcpListener,
    /// How long a connection may go without an answer.
    limit: Duration,
    /// One permit per open connection; accepting waits for a free one.
    open: Arc<tokio::sync::Semaphore>,
}

impl DeadlineListener {
    /// Wraps `listener`; its connections get twice `request_timeout` to send a whole request,
    /// and at most `max_connections` (at least 1) are open at once.
    pub fn new(
        listener: tokio::net::TcpListener,
        request_timeout: Duration,
        max_connections: usize,
    ) -> DeadlineListener {
        DeadlineListener {
            listener,
            limit: request_timeout * 2,
            open: Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
        }
    }
}

impl axum::serve::Listener for DeadlineListener {
    type Io = DeadlineStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (DeadlineStream, std::net::SocketAddr) {
        // A free place first, then the connection: while every place is taken, new clients
        // wait in the kernel's backlog instead of in this process's memory.
        let permit = Arc::clone(&self.open)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        // axum's own accept, which waits and retries when accepting fails (too many open files).
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let deadline = Box::pin(tokio::time::sleep(self.limit));
        let limit = self.limit;
        (
            DeadlineStream {
                stream,
                limit,
                deadline,
                _place: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection from a [`DeadlineListener`]: reading or writing fails with `TimedOut` once it
/// has waited past its deadline, which moves on each time the server manages to send something.
pub struct DeadlineStream {
    /// The connection itself.
    stream: tokio::net::TcpStream,
    /// How far the deadline moves when the server sends something.
    limit: Duration,
    /// When the connection is given up on if it is still waiting.
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// The connection's place under the listener's cap, given back when it closes.
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl DeadlineStream {
    /// `Pending` stays `Pending` until the deadline, then becomes a `TimedOut` error, which
    /// makes hyper close the connection.
    fn or_time_out<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match poll {
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent no whole request in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl AsyncRead for DeadlineStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Bytes arriving do not move the deadline: a byte at a time must not buy more time.
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.or_time_out(cx, read)
    }
}

impl AsyncWrite for DeadlineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            // An answer went out: the client gets a fresh allowance for its next request.
            let next = tokio::time::Instant::now() + self.limit;
            self.deadline.as_mut().reset(next);
        }
        // A client that never reads its answers times out too.
        self.or_time_out(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        self.or_time_out(cx, flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let shut = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.or_time_out(cx, shut)
    }
}
// ANCHOR_END: deadline

//! The demo's tiny HTTP client: one HTTP/1.1 request per connection, written and read by hand
//! over a `TcpStream`, so the demo needs no HTTP client crate.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer: the status line's code and text, the headers, the body.
pub struct Reply {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

/// Sends one HTTP/1.1 request on a new connection and reads the whole answer, for at most
/// 5 s. `Connection: close` means the answer ends when the server closes the connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Result<Reply, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some(content_type) = content_type {
            request.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        // A server may answer (413) and close before reading all of a large body, so a
        // failed write is not yet a failure: the answer may be waiting to be read.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut raw = Vec::new();
        // A server that answers before reading the whole body (413) may reset the
        // connection after its answer; what arrived before the reset is still the answer.
        if let Err(err) = stream.read_to_end(&mut raw).await {
            if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                return Err(err);
            }
        }
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("{method} {path} got no answer within 5 s"))?
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: not an HTTP answer: {text:?}"))?;
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line {status_line:?}"))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        reason,
        headers,
        body: body.to_string(),
    })
}

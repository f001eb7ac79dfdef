//! A minimal HTTP/1.1 keep-alive client for `POST /api/publish`: one request in flight per
//! connection, bodies framed by `Content-Length` (what the server API sends). Cheaper than a
//! general client, and the publish round trip it measures has nothing else in it.

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// `http://host:port[/base]` split into the socket address and the path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host_port: String,
    pub(crate) base_path: String,
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("only http:// API URLs are supported, got {url:?}"))?;
        let (host_port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        anyhow::ensure!(!host_port.is_empty(), "no host in {url:?}");
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:80")
        };
        Ok(Endpoint {
            host_port,
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }
}

pub(crate) struct HttpClient {
    stream: TcpStream,
    /// Request head up to (not including) the Content-Length value: built once.
    head_prefix: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// A parsed response; `body` borrows the client's buffer.
pub(crate) struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) body: &'a [u8],
}

impl HttpClient {
    /// Connects and prepares `POST <path>` requests carrying `headers` (name, value).
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<HttpClient> {
        let stream = TcpStream::connect(&endpoint.host_port)
            .await
            .with_context(|| format!("connecting to {}", endpoint.host_port))?;
        stream.set_nodelay(true)?;
        let mut head = format!(
            "POST {}{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n",
            endpoint.base_path, endpoint.host_port
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("Content-Length: ");
        Ok(HttpClient {
            stream,
            head_prefix: head.into_bytes(),
            request: Vec::with_capacity(1024),
            response: Vec::with_capacity(1024),
        })
    }

    /// Sends one request and reads its whole response.
    pub(crate) async fn post(&mut self, body: &[u8]) -> anyhow::Result<Response<'_>> {
        self.request.clear();
        self.request.extend_from_slice(&self.head_prefix);
        self.request
            .extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        self.request.extend_from_slice(b"\r\n\r\n");
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await?;

        self.response.clear();
        let head = loop {
            if let Some(head) = parse_head(&self.response)? {
                break head;
            }
            self.read_more().await?;
        };
        while self.response.len() < head.len + head.content_length {
            self.read_more().await?;
        }
        anyhow::ensure!(
            self.response.len() == head.len + head.content_length,
            "server sent bytes after the response"
        );
        Ok(Response {
            status: head.status,
            body: &self.response[head.len..],
        })
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.response.capacity() - self.response.len() < 512 {
            self.response.reserve(4096);
        }
        let n = self.stream.read_buf(&mut self.response).await?;
        if n == 0 {
            bail!("server closed the connection");
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    /// Bytes up to and including the blank line.
    len: usize,
    content_length: usize,
}

const MAX_HEAD: usize = 16 * 1024;

/// The status and body length of a response head, `None` until the head is complete.
fn parse_head(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        anyhow::ensure!(buf.len() <= MAX_HEAD, "response head too long");
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut content_length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.trim().parse().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked responses are not supported by the bench client");
        }
    }
    Ok(Some(Head {
        status,
        len: end + 4,
        content_length: content_length.unwrap_or(0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8000").unwrap(),
            Endpoint {
                host_port: "127.0.0.1:8000".into(),
                base_path: String::new()
            }
        );
        assert_eq!(Endpoint::parse("http://h/x/").unwrap().host_port, "h:80");
        assert_eq!(Endpoint::parse("http://h:1/x/").unwrap().base_path, "/x");
        assert!(Endpoint::parse("https://h").is_err());
    }

    #[test]
    fn heads() {
        let resp =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{\"result\":{}}";
        let head = parse_head(resp).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.content_length, 12);
        assert_eq!(&resp[head.len..head.len + 2], b"{\"");
        assert_eq!(parse_head(&resp[..20]).unwrap(), None);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn round_trip_against_a_tiny_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            // Two requests on one connection, answered with split writes.
            for reply in ["first", "second"] {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                );
                let (a, b) = resp.as_bytes().split_at(10);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                s.write_all(b).await.unwrap();
            }
            seen
        });
        let ep = Endpoint::parse(&format!("http://{addr}")).unwrap();
        let mut c = HttpClient::connect(&ep, "/api/publish", &[("X-API-Key", "k")])
            .await
            .unwrap();
        let r = c.post(b"{}").await.unwrap();
        assert_eq!((r.status, r.body), (200, &b"first"[..]));
        let r = c.post(b"[1]").await.unwrap();
        assert_eq!((r.status, r.body), (200, &b"second"[..]));
        let seen = server.await.unwrap();
        assert!(
            seen[0].starts_with("POST /api/publish HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("X-API-Key: k\r\n"));
        assert!(seen[1].ends_with("Content-Length: 3\r\n\r\n[1]"), "{}", seen[1]);
    }
}

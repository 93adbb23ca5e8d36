//! A deliberately tiny HTTP/1.1 server on std threads: one thread per connection, one request per
//! connection (`Connection: close`), a request line, headers and a `Content-Length` (or chunked)
//! body. It also knows how to misbehave on purpose (hang, reset, truncate) for the fault injection.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown as SocketShutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Largest request head (request line + headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// A shared "stop now" flag, set when the owning emulator drops.
#[derive(Clone, Debug, Default)]
pub(crate) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Sleeps for `d`, waking early if the flag is set. Returns `false` if it was.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.is_set() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(Duration::from_millis(20)));
        }
    }
}

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
    /// Header names lower-cased; repeated headers are joined with `,`.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }

    /// The plain HTML page a load balancer or proxy would send.
    pub(crate) fn html_status(status: u16) -> Response {
        let body = format!(
            "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n",
            reason = reason(status)
        );
        Response::new(status, "text/html", body)
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The head (status line and headers, blank line included), with the given Content-Length.
    fn head(&self, content_length: usize) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
        ));
        head.into_bytes()
    }
}

/// What a handler wants done with the connection.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send this response and close.
    Respond(Response),
    /// Read the request, never answer; close when the server stops.
    Hang,
    /// Close without sending a byte, with an RST if the platform allows it.
    Reset,
    /// Send the head of this response and only the first half of its body (the Content-Length
    /// announces the whole body), then close.
    Truncated(Response),
}

pub(crate) type Handler = dyn Fn(Request, &StopFlag) -> Outcome + Send + Sync + 'static;

/// A listening server. Dropping it stops the accept loop.
pub(crate) struct Server {
    addr: SocketAddr,
    stop: StopFlag,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on an ephemeral port; call [`Server::serve`] to start answering.
    pub(crate) fn bind() -> io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", 0))
    }

    pub(crate) fn serve(listener: TcpListener, stop: StopFlag, handler: Arc<Handler>) -> Server {
        let addr = listener
            .local_addr()
            .expect("a bound listener has a local address");
        let thread_stop = stop.clone();
        let accept_thread = thread::Builder::new()
            .name(format!("emulator-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, thread_stop, handler))
            .expect("spawn the accept thread");
        Server {
            addr,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.set();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: TcpListener, stop: StopFlag, handler: Arc<Handler>) {
    for stream in listener.incoming() {
        if stop.is_set() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let handler = Arc::clone(&handler);
        let stop = stop.clone();
        let _ = thread::Builder::new()
            .name("emulator-conn".to_string())
            .spawn(move || serve_connection(stream, &stop, &*handler));
    }
}

fn serve_connection(stream: TcpStream, stop: &StopFlag, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let request = match read_request(&stream) {
        Ok(Some(request)) => request,
        Ok(None) => return, // the self-connect from Drop, or a client that gave up
        Err(err) => {
            let status = if err.kind() == io::ErrorKind::InvalidData {
                400
            } else {
                return;
            };
            let _ = write_response(&stream, &Response::html_status(status), None);
            return;
        }
    };
    match handler(request, stop) {
        Outcome::Respond(response) => {
            let _ = write_response(&stream, &response, None);
        }
        Outcome::Truncated(response) => {
            let half = response.body.len() / 2;
            let _ = write_response(&stream, &response, Some(half));
        }
        Outcome::Hang => {
            while stop.sleep(Duration::from_secs(3600)) {}
            let _ = stream.shutdown(SocketShutdown::Both);
        }
        Outcome::Reset => reset(stream),
    }
}

/// Writes `response`; with `send_only = Some(n)`, sends just the first `n` body bytes while the
/// Content-Length still announces the whole body.
fn write_response(
    mut stream: &TcpStream,
    response: &Response,
    send_only: Option<usize>,
) -> io::Result<()> {
    let mut bytes = response.head(response.body.len());
    let sent = send_only.unwrap_or(response.body.len());
    bytes.extend_from_slice(&response.body[..sent]);
    stream.write_all(&bytes)?;
    stream.flush()?;
    stream.shutdown(SocketShutdown::Write)
}

/// Closes the socket so that the peer sees a reset rather than an orderly end of stream.
fn reset(stream: TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the fd is a live socket owned by `stream`, and the option value is a properly
        // initialised `linger` whose size is passed alongside it.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    drop(stream);
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads one request. `Ok(None)` means the peer closed before sending anything.
fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream);
    let mut head_len = 0usize;
    let mut line = String::new();

    // Request line (tolerating leading blank lines, as RFC 9112 allows).
    let request_line = loop {
        line.clear();
        let n = read_line(&mut reader, &mut line, &mut head_len)?;
        if n == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if !trimmed.is_empty() {
            break trimmed.to_string();
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid("unsupported HTTP version"));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };

    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    loop {
        line.clear();
        if read_line(&mut reader, &mut line, &mut head_len)? == 0 {
            return Err(invalid("connection closed inside the headers"));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }

    if headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let mut w = stream;
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }

    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else if let Some(len) = headers.get("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad Content-Length"))?;
        if len > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        body
    } else {
        Vec::new()
    };

    Ok(Some(Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body,
    }))
}

fn read_line(
    reader: &mut BufReader<&TcpStream>,
    line: &mut String,
    total: &mut usize,
) -> io::Result<usize> {
    let mut raw = Vec::new();
    let n = reader
        .by_ref()
        .take((MAX_HEAD - *total + 1) as u64)
        .read_until(b'\n', &mut raw)?;
    *total += n;
    if *total > MAX_HEAD {
        return Err(invalid("request head too large"));
    }
    line.push_str(&String::from_utf8_lossy(&raw));
    Ok(n)
}

fn read_chunked(reader: &mut BufReader<&TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_str = size_line.trim().split(';').next().unwrap_or("");
        let size =
            usize::from_str_radix(size_str, 16).map_err(|_| invalid("bad chunk size line"))?;
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

/// Decodes `application/x-www-form-urlencoded` data (also used for query strings): pairs split
/// on `&`, `+` is a space, `%XX` escapes. Later duplicates win.
pub(crate) fn parse_form(data: &str) -> BTreeMap<String, String> {
    data.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes one form component (`+` means space). Invalid escapes are kept literally.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (the tests' request builder).
#[cfg(test)]
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

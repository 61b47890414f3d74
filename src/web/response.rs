//! The response a handler returns, independent of tiny_http so that handlers are plain functions
//! that tests can call.

/// An HTTP response: status, headers and a body already in memory.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A page rendered by maud.
    pub fn html(status: u16, markup: maud::Markup) -> Response {
        Response {
            status,
            headers: vec![
                ("Content-Type", "text/html; charset=utf-8".to_owned()),
                ("Cache-Control", "no-store".to_owned()),
            ],
            body: markup.into_string().into_bytes(),
        }
    }

    /// Plain text, for probes and metrics.
    pub fn text(status: u16, content_type: &str, body: String) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned()), ("Cache-Control", "no-store".to_owned())],
            body: body.into_bytes(),
        }
    }

    /// A JSON document.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::text(status, "application/json", value.to_string())
    }

    /// An empty response with a status only (304, 405 with Allow...).
    pub fn empty(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

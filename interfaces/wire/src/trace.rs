//! W3C trace context (`traceparent`) carried by every envelope, so one
//! request is one trace across providers and hosts. Each process that
//! handles an invocation opens its own span: a child of the span the
//! envelope names, with the same trace id. The `sampled` flag asks every
//! process on the way to record its span (Floe logs it, with the ids).

/// One span's context: `00-{trace_id}-{span_id}-{flags}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// 16 lowercase hex digits, not all zero.
    pub span_id: String,
    /// Whether the trace is recorded (flag `01`).
    pub sampled: bool,
}

/// A random trace id: 32 lowercase hex digits, not all zero.
fn new_trace_id() -> String {
    format!("{:032x}", fastrand::u128(1..))
}

/// A random span id: 16 lowercase hex digits, not all zero.
fn new_span_id() -> String {
    format!("{:016x}", fastrand::u64(1..))
}

fn valid_id(id: &str, len: usize) -> bool {
    id.len() == len
        && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && id.bytes().any(|b| b != b'0')
}

impl TraceContext {
    /// A new trace.
    pub fn root(sampled: bool) -> Self {
        TraceContext {
            trace_id: new_trace_id(),
            span_id: new_span_id(),
            sampled,
        }
    }

    /// A span inside this one: same trace, new span id.
    pub fn child(&self) -> Self {
        TraceContext {
            trace_id: self.trace_id.clone(),
            span_id: new_span_id(),
            sampled: self.sampled,
        }
    }

    /// Reads a `traceparent` value (version `00`); `None` when invalid.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let mut parts = traceparent.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || version != "00"
            || !valid_id(trace_id, 32)
            || !valid_id(span_id, 16)
        {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16)
            .ok()
            .filter(|_| flags.len() == 2)?;
        Some(TraceContext {
            trace_id: trace_id.to_owned(),
            span_id: span_id.to_owned(),
            sampled: flags & 1 == 1,
        })
    }

    /// The `traceparent` value.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            self.trace_id,
            self.span_id,
            if self.sampled { "01" } else { "00" }
        )
    }

    /// The span an invocation runs in: a child of the caller's span when the
    /// envelope carries one, else the root of a new, unsampled trace.
    pub fn for_invocation(traceparent: Option<&str>) -> (Self, Option<Self>) {
        match traceparent.and_then(Self::parse) {
            Some(parent) => (parent.child(), Some(parent)),
            None => (Self::root(false), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_round_trip_and_children_keep_the_trace() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceContext::parse(header).expect("valid");
        assert!(parsed.sampled);
        assert_eq!(parsed.header(), header);
        let child = parsed.child();
        assert_eq!(child.trace_id, parsed.trace_id);
        assert_ne!(child.span_id, parsed.span_id);
        assert!(child.sampled);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        let root = TraceContext::root(false);
        assert_eq!(TraceContext::parse(&root.header()), Some(root.clone()));
        let (span, parent) = TraceContext::for_invocation(Some(header));
        assert_eq!(parent, Some(parsed));
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let (fresh, none) = TraceContext::for_invocation(Some("garbage"));
        assert!(none.is_none() && !fresh.sampled);
    }
}

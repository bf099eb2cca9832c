//! Where in a payload a value sits, for error messages: a chain of steps on
//! the stack ("parameter 2 (`b`), field `x`, element 3"), rendered only
//! when an error is reported.

/// One step of a place: a parameter, field, element, case, flag, …
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    /// A whole value decoded on its own.
    Value,
    /// A call's payload as a whole.
    Payload,
    /// A function's result.
    Result,
    /// A parameter: its index (from 0) and name (may be empty).
    Param(usize, &'a str),
    Field(&'a str),
    Index(usize),
    Case(&'a str),
    Flag(&'a str),
    OptionSome,
}

impl Seg<'_> {
    fn describe(&self) -> String {
        match self {
            Seg::Value => "value".to_owned(),
            Seg::Payload => "payload".to_owned(),
            Seg::Result => "result".to_owned(),
            Seg::Param(i, "") => format!("parameter {}", i + 1),
            Seg::Param(i, name) => format!("parameter {} (`{name}`)", i + 1),
            Seg::Field(name) => format!("field `{name}`"),
            Seg::Index(i) => format!("element {i}"),
            Seg::Case(name) => format!("case `{name}`"),
            Seg::Flag(name) => format!("flag `{name}`"),
            Seg::OptionSome => "some".to_owned(),
        }
    }
}

/// A place: `seg` inside `parent`, e.g. "parameter 2 (`b`), element 3".
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    seg: Seg<'a>,
    parent: Option<&'a At<'a>>,
}

impl<'a> At<'a> {
    pub fn root(seg: Seg<'a>) -> Self {
        At { seg, parent: None }
    }

    /// Parameter `index` (from 0), named `name`.
    pub fn param(index: usize, name: &'a str) -> Self {
        At::root(Seg::Param(index, name))
    }

    pub fn child<'b>(&'b self, seg: Seg<'b>) -> At<'b> {
        At {
            seg,
            parent: Some(self),
        }
    }

    pub fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(at) = cur {
            segs.push(at.seg.describe());
            cur = at.parent;
        }
        segs.reverse();
        segs.join(", ")
    }
}

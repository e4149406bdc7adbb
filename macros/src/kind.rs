//! Which of the two attributes is expanding.

use std::fmt;

/// Which attribute is expanding; both generate the same code, this only names them in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Parent,
    Child,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Parent => "`#[parent_run]`",
            Kind::Child => "`#[child_run]`",
        })
    }
}

use serde::{Deserialize, Serialize};

/// Largest page any list may ask for: no read is unbounded.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which page of a list to read. `cursor` is opaque: it comes from a previous [`Page::next`]
/// (for Cassandra, the driver's paging state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { cursor: None, limit }.clamped()
    }

    pub fn after(cursor: Option<String>, limit: u32) -> Self {
        Self { cursor: cursor.filter(|c| !c.is_empty()), limit }.clamped()
    }

    fn clamped(mut self) -> Self {
        self.limit = match self.limit {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        self
    }
}

/// One page of a list and the cursor of the next one, if there is more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

//! Users per group as the census counts them: a million lookups per pass, so a key is kept
//! small and cheap to hash (the site as its index among the few sites, short group names
//! inline and hashed by their bytes only) and a lookup compares it without following a
//! pointer.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
};

use uuid::Uuid;

/// Group names up to this many bytes are kept inline (`default-100000` takes 14).
const INLINE: usize = 22;

/// A group name, inline when short.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Short { len: u8, bytes: [u8; INLINE] },
    Long(Box<str>),
}

impl Name {
    fn new(name: &str) -> Self {
        match u8::try_from(name.len()) {
            Ok(len) if name.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..name.len()].copy_from_slice(name.as_bytes());
                Name::Short { len, bytes }
            }
            _ => Name::Long(name.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Name::Short { len, bytes } => &bytes[..usize::from(*len)],
            Name::Long(name) => name.as_bytes(),
        }
    }

    fn into_string(self) -> String {
        match self {
            // The bytes came from a `&str` cut at its end, so they are valid UTF-8.
            Name::Short { .. } => String::from_utf8_lossy(self.as_bytes()).into_owned(),
            Name::Long(name) => name.into(),
        }
    }
}

impl Hash for Name {
    // A name has one spelling whichever way it is kept, so equal names hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

/// Users counted per (site, group).
#[derive(Debug, Default)]
pub(crate) struct GroupTally {
    /// The sites seen so far; a key holds a site's index here. Sites are few.
    sites: Vec<Uuid>,
    counts: HashMap<(usize, Name), u64>,
}

impl GroupTally {
    /// Counts one user of `group` in `site`.
    pub(crate) fn add(&mut self, site: Uuid, group: &str) {
        let index = match self.sites.iter().position(|s| *s == site) {
            Some(index) => index,
            None => {
                self.sites.push(site);
                self.sites.len() - 1
            }
        };
        *self.counts.entry((index, Name::new(group))).or_default() += 1;
    }

    /// The counts, keyed as the census snapshot keys them.
    pub(crate) fn into_map(self) -> HashMap<(Uuid, String), u64> {
        let sites = self.sites;
        self.counts
            .into_iter()
            .filter_map(|((index, name), n)| Some(((*sites.get(index)?, name.into_string()), n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_count_apart_and_come_back_whole() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let long = "g".repeat(INLINE + 1);
        let exact = "h".repeat(INLINE);
        let mut tally = GroupTally::default();
        for (site, group) in [(a, "default-1"), (a, "default-1"), (b, "default-1"), (a, ""), (a, &long), (a, &long)] {
            tally.add(site, group);
        }
        tally.add(a, &exact);
        tally.add(a, "défaut-2");
        let map = tally.into_map();
        assert_eq!(map.get(&(a, "default-1".into())), Some(&2));
        assert_eq!(map.get(&(b, "default-1".into())), Some(&1));
        assert_eq!(map.get(&(a, String::new())), Some(&1));
        assert_eq!(map.get(&(a, long)), Some(&2));
        assert_eq!(map.get(&(a, exact)), Some(&1));
        assert_eq!(map.get(&(a, "défaut-2".into())), Some(&1));
        assert_eq!(map.len(), 6);
    }
}

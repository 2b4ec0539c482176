use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{validate, AppError};

/// A row of the GeoDB `tags` table: a shard label that sites point to by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: Uuid,
    pub tag: String,
}

/// A checked tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDraft {
    pub tag: String,
}

impl TagDraft {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        Ok(Self { tag: validate::cluster_name("tag", raw)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names() {
        assert_eq!(TagDraft::parse(" eu-west ").unwrap().tag, "eu-west");
        assert!(TagDraft::parse("").is_err());
        assert!(TagDraft::parse("eu west").is_err());
    }
}

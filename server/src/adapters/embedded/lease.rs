//! The leader lease of each site, with fencing tokens, for the demo and the fast tests.

use async_trait::async_trait;
use palomar_core::ports::{LeaderLease, Lease, StoreError};

use super::EmbeddedStore;

#[async_trait]
impl LeaderLease for EmbeddedStore {
    async fn acquire_or_renew(
        &self,
        site: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let now = std::time::Instant::now();
        let mut tables = self.write();
        let tables = &mut *tables;
        match tables.leases.get_mut(site) {
            Some((current, token, expires)) if *expires > now => {
                if current == holder {
                    *expires = now + ttl;
                    Ok(Some(Lease { holder: holder.to_string(), token: *token }))
                } else {
                    Ok(None)
                }
            }
            _ => {
                let token = tables.lease_tokens.entry(site.to_string()).or_default();
                *token += 1;
                let token = *token;
                tables.leases.insert(site.to_string(), (holder.to_string(), token, now + ttl));
                Ok(Some(Lease { holder: holder.to_string(), token }))
            }
        }
    }

    async fn release(&self, site: &str, holder: &str) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables.leases.get(site).is_some_and(|(current, _, _)| current == holder) {
            tables.leases.remove(site);
        }
        Ok(())
    }

    async fn current(&self, site: &str) -> Result<Option<Lease>, StoreError> {
        let now = std::time::Instant::now();
        Ok(self
            .read()
            .leases
            .get(site)
            .filter(|(_, _, expires)| *expires > now)
            .map(|(holder, token, _)| Lease { holder: holder.clone(), token: *token }))
    }
}

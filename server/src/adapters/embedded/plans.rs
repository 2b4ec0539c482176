//! The group-balance plan of each site: a queue the controller's passes take entries from.

use domain::moves::{PlanEntry, PlanSummary};

use async_trait::async_trait;
use palomar_core::ports::{BalancePlanStore, StoreError};

use super::EmbeddedStore;

#[async_trait]
impl BalancePlanStore for EmbeddedStore {
    async fn replace_plan(
        &self,
        site: &str,
        created_at: chrono::DateTime<chrono::Utc>,
        entries: &[PlanEntry],
    ) -> Result<(), StoreError> {
        self.write()
            .plans
            .insert(site.to_string(), (created_at, entries.len() as u64, entries.iter().cloned().collect()));
        Ok(())
    }

    async fn take_entries(&self, site: &str, count: usize) -> Result<Vec<PlanEntry>, StoreError> {
        let mut tables = self.write();
        Ok(match tables.plans.get_mut(site) {
            Some((_, _, entries)) => {
                let n = count.min(entries.len());
                entries.drain(..n).collect()
            }
            None => Vec::new(),
        })
    }

    async fn plan_summary(&self, site: &str) -> Result<Option<PlanSummary>, StoreError> {
        Ok(self.read().plans.get(site).map(|(created_at, total, entries)| PlanSummary {
            created_at: *created_at,
            total: *total,
            remaining: entries.len() as u64,
        }))
    }
}

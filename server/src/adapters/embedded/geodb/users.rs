//! `users` and the store's clock.

use domain::geodb::{Membership, User, UserMove};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use palomar_core::ports::{StoreError, UserTable};

use crate::adapters::embedded::EmbeddedStore;

#[async_trait]
impl UserTable for EmbeddedStore {
    fn scan_memberships(&self) -> BoxStream<'_, Result<Vec<Membership>, StoreError>> {
        EmbeddedStore::scan_memberships(self)
    }

    async fn get_memberships(&self, usernames: &[String]) -> Result<Vec<Membership>, StoreError> {
        let tables = self.read();
        Ok(usernames.iter().filter_map(|name| tables.membership(name)).collect())
    }

    async fn store_time(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(Utc::now())
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self.read().users.get(username).cloned())
    }

    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.write().put_user(user);
        Ok(())
    }

    async fn put_users(&self, users: &[User]) -> Result<(), StoreError> {
        let mut tables = self.write();
        for user in users {
            // A `None` or empty column is left as it was, as Cassandra does with an unset value.
            let merged = match tables.users.get(&user.username) {
                Some(old) => {
                    let text = |new: &String, old: &String| if new.is_empty() { old.clone() } else { new.clone() };
                    User {
                        preferred_site_id: user.preferred_site_id.or(old.preferred_site_id),
                        group_name: text(&user.group_name, &old.group_name),
                        failover_site_group_name: text(&user.failover_site_group_name, &old.failover_site_group_name),
                        metacache_last_host: text(&user.metacache_last_host, &old.metacache_last_host),
                        moving_preferred_site_id: user.moving_preferred_site_id.or(old.moving_preferred_site_id),
                        moving_group_name: text(&user.moving_group_name, &old.moving_group_name),
                        moving_failover_site_group_name: text(
                            &user.moving_failover_site_group_name,
                            &old.moving_failover_site_group_name,
                        ),
                        last_update: user.last_update.or(old.last_update),
                        username: user.username.clone(),
                    }
                }
                None => user.clone(),
            };
            tables.put_user(&merged);
        }
        Ok(())
    }

    async fn start_user_move(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.users.get_mut(&seen.username) {
            Some(user) if user.group_name == seen.group_name && user.moving_group_name == seen.moving_group_name => {
                user.moving_preferred_site_id = Some(to.site_id);
                user.moving_group_name = to.group.clone();
                user.moving_failover_site_group_name = to.failover_group.clone();
                user.last_update = Some(to.at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn relocate_user(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.users.get(&seen.username) {
            Some(user)
                if (user.preferred_site_id, &user.group_name) == (seen.preferred_site_id, &seen.group_name)
                    && user.moving_group_name.is_empty() =>
            {
                let moved = User {
                    preferred_site_id: Some(to.site_id),
                    group_name: to.group.clone(),
                    failover_site_group_name: to.failover_group.clone(),
                    last_update: Some(to.at),
                    ..user.clone()
                };
                tables.put_user(&moved);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.write().delete_user(username);
        Ok(())
    }
}

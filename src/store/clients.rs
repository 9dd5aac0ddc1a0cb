//! Clients: the companies being onboarded, their summaries, the client
//! list and the stuck list.
//!
//! Each client row carries a summary derived from its progress (current
//! stage, counts, latest completion). [`refresh_summary`] is the one place
//! that computes it; every write that can change progress calls it.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::onboarding::{self, StageTally};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

/// A client as `PUT` answers it.
#[derive(Clone, Debug, Serialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub created_at: Timestamp,
}

/// A client with its onboarding summary, as the client list shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientSummary {
    pub id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub created_at: Timestamp,
    pub template_id: Option<String>,
    pub current_stage_type: Option<String>,
    pub completed_count: u32,
    pub total_count: u32,
    pub completion_percentage: u32,
    /// Latest `completed_at` among its completed milestones.
    pub last_activity: Option<Timestamp>,
}

/// A client on the stuck list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StuckClient {
    pub id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub current_stage_type: Option<String>,
    pub completed_count: u32,
    pub total_count: u32,
    pub last_activity: Option<Timestamp>,
    pub days_since_activity: Option<i64>,
}

/// Where a page of the client list starts: just after this (name, id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClientCursor {
    pub name: String,
    pub id: String,
}

/// Creates the client (`true`) or updates its name and logo (`false`).
pub fn put(
    conn: &Connection,
    id: &str,
    name: &str,
    logo_url: Option<&str>,
    now: Timestamp,
) -> Result<(Client, bool)> {
    let existing = find(conn, id)?;
    let created = existing.is_none();
    let created_at = existing.map_or(now, |c| c.created_at);
    conn.execute(
        "INSERT INTO clients (id, name, logo_url, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, logo_url = excluded.logo_url",
        params![id, name, logo_url, created_at],
    )?;
    let client = Client {
        id: id.into(),
        name: name.into(),
        logo_url: logo_url.map(str::to_owned),
        created_at,
    };
    Ok((client, created))
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Client>> {
    Ok(conn
        .prepare_cached("SELECT id, name, logo_url, created_at FROM clients WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(Client {
                id: row.get(0)?,
                name: row.get(1)?,
                logo_url: row.get(2)?,
                created_at: row.get(3)?,
            })
        })
        .optional()?)
}

/// `NotFound` unless the client exists.
pub fn ensure_exists(conn: &Connection, id: &str) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM clients WHERE id = ?1")?
        .exists([id])?;
    if found {
        Ok(())
    } else {
        Err(Error::not_found(format!("no client {id:?}")))
    }
}

/// The template assigned to a client (`None` when none is); `NotFound` for
/// an unknown client.
pub fn assigned_template(conn: &Connection, id: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT template_id FROM clients WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no client {id:?}")))
}

const SUMMARY_COLUMNS: &str = "id, name, logo_url, created_at, template_id, current_stage_type,
     completed_count, total_count, last_completed_at";

fn summary_from_row(row: &Row) -> rusqlite::Result<ClientSummary> {
    let completed_count = row.get(6)?;
    let total_count = row.get(7)?;
    Ok(ClientSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        logo_url: row.get(2)?,
        created_at: row.get(3)?,
        template_id: row.get(4)?,
        current_stage_type: row.get(5)?,
        completed_count,
        total_count,
        completion_percentage: onboarding::completion_percentage(completed_count, total_count),
        last_activity: row.get(8)?,
    })
}

/// One client with its summary; `NotFound` when there is none.
pub fn summary(conn: &Connection, id: &str) -> Result<ClientSummary> {
    conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM clients WHERE id = ?1"
    ))?
    .query_row([id], summary_from_row)
    .optional()?
    .ok_or_else(|| Error::not_found(format!("no client {id:?}")))
}

/// A page of clients by name, then id, starting after `after`. Returns the
/// page and the cursor of the next one (`None` on the last page).
pub fn list(
    conn: &Connection,
    after: Option<&ClientCursor>,
    limit: u32,
) -> Result<(Vec<ClientSummary>, Option<ClientCursor>)> {
    let (name, id) = after.map_or((None, None), |c| (Some(&c.name), Some(&c.id)));
    let mut clients: Vec<ClientSummary> = conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM clients
             WHERE ?1 IS NULL OR (name, id) > (?1, ?2)
             ORDER BY name, id LIMIT ?3"
        ))?
        .query_map(params![name, id, limit + 1], summary_from_row)?
        .collect::<rusqlite::Result<_>>()?;

    let next = if clients.len() > limit as usize {
        clients.truncate(limit as usize);
        clients.last().map(|c| ClientCursor {
            name: c.name.clone(),
            id: c.id.clone(),
        })
    } else {
        None
    };
    Ok((clients, next))
}

/// Removes a client with its progress, facts and history.
pub fn delete(conn: &Connection, id: &str) -> Result<()> {
    let removed = conn.execute("DELETE FROM clients WHERE id = ?1", [id])?;
    if removed == 0 {
        return Err(Error::not_found(format!("no client {id:?}")));
    }
    Ok(())
}

/// Ids of the clients that have `template_id` assigned.
pub fn ids_on_template(conn: &Connection, template_id: &str) -> Result<Vec<String>> {
    let ids = conn
        .prepare_cached("SELECT id FROM clients WHERE template_id = ?1 ORDER BY id")?
        .query_map([template_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// The stuck list's query: the rule of [`onboarding::is_stuck`] in SQL.
/// Public so that the benchmark can show its plan.
pub const STUCK_QUERY: &str = "SELECT id, name, logo_url, current_stage_type, completed_count,
         total_count, last_completed_at
     FROM clients INDEXED BY clients_unfinished_by_activity
     WHERE template_id IS NOT NULL AND completed_count < total_count
         AND activity_at <= ?1
     ORDER BY activity_at, name, id
     LIMIT ?2";

/// Clients whose onboarding has stalled: a template with work left and no
/// activity since `cutoff`; longest-stalled first, then name, then id.
///
/// Reads the partial index `clients_unfinished_by_activity`, so it touches
/// only the rows it returns.
pub fn stuck(
    conn: &Connection,
    cutoff: Timestamp,
    limit: u32,
    now: Timestamp,
) -> Result<Vec<StuckClient>> {
    let clients = conn
        .prepare_cached(STUCK_QUERY)?
        .query_map(params![cutoff, limit], |row| {
            let last_activity: Option<Timestamp> = row.get(6)?;
            Ok(StuckClient {
                id: row.get(0)?,
                name: row.get(1)?,
                logo_url: row.get(2)?,
                current_stage_type: row.get(3)?,
                completed_count: row.get(4)?,
                total_count: row.get(5)?,
                last_activity,
                days_since_activity: onboarding::days_since(last_activity, now),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(clients)
}

/// Recomputes a client's derived summary from its template and progress:
/// current stage, counts and latest completion.
pub fn refresh_summary(conn: &Connection, client_id: &str) -> Result<()> {
    let template_id = assigned_template(conn, client_id)?;

    let tallies: Vec<(String, u32, u32, Option<i64>)> = conn
        .prepare_cached(
            "SELECT s.type, count(m.id), count(p.completed_at), max(p.completed_at)
             FROM stages s
             LEFT JOIN milestones m ON m.template_id = s.template_id AND m.stage_id = s.id
             LEFT JOIN progress p ON p.client_id = ?2 AND p.template_id = m.template_id
                 AND p.milestone_id = m.id
             WHERE s.template_id = ?1
             GROUP BY s.id
             ORDER BY s.position, s.id",
        )?
        .query_map(params![template_id, client_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let stages: Vec<StageTally> = tallies
        .iter()
        .map(|(stage_type, total, completed, _)| StageTally {
            stage_type,
            completed: *completed,
            total: *total,
        })
        .collect();
    let current = onboarding::current_stage_type(&stages);
    let total: u32 = stages.iter().map(|s| s.total).sum();
    let completed: u32 = stages.iter().map(|s| s.completed).sum();
    let last_completed_at = tallies.iter().filter_map(|t| t.3).max();

    conn.prepare_cached(
        "UPDATE clients SET current_stage_type = ?2, completed_count = ?3, total_count = ?4,
             last_completed_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        client_id,
        current,
        completed,
        total,
        last_completed_at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stuck_query_walks_its_index_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.db");
        crate::db::migrate(&path).unwrap();
        let conn = Connection::open(&path).unwrap();

        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {STUCK_QUERY}"))
            .unwrap()
            .query_map(params![0, 5], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();

        assert_eq!(
            plan,
            vec!["SEARCH clients USING INDEX clients_unfinished_by_activity (activity_at<?)"]
        );
    }
}

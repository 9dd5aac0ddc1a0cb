//! Facts: things that happened for a client elsewhere (a deal won, an
//! invoice paid), and the auto-completions they trigger.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::onboarding::FactType;
use crate::store::{clients, progress};
use crate::timestamp::Timestamp;
use crate::Result;

/// A fact as recorded (and exported).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    #[serde(rename = "type")]
    pub fact_type: FactType,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
}

/// What recording a fact did.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// False when the same type and reference were already recorded.
    pub created: bool,
    /// Milestones completed because of it, in template order.
    pub auto_completed: Vec<String>,
}

/// Records a fact for an existing client and completes the milestones of
/// its template that wait for this type of fact. The same type and
/// reference again is recorded once; facts without a reference never merge.
pub fn record(conn: &Connection, client_id: &str, fact: &Fact, now: Timestamp) -> Result<Recorded> {
    let template_id = clients::assigned_template(conn, client_id)?;

    if !insert(conn, client_id, fact, now)? {
        return Ok(Recorded {
            created: false,
            auto_completed: Vec::new(),
        });
    }

    let mut auto_completed = Vec::new();
    if let Some(template_id) = template_id {
        auto_completed =
            progress::auto_complete(conn, client_id, &template_id, Some(fact.fact_type), now)?;
        if !auto_completed.is_empty() {
            clients::refresh_summary(conn, client_id)?;
        }
    }
    Ok(Recorded {
        created: true,
        auto_completed,
    })
}

/// Stores a fact unless the same type and reference are already stored for
/// the client; returns whether it was stored. Completes nothing.
pub fn insert(conn: &Connection, client_id: &str, fact: &Fact, now: Timestamp) -> Result<bool> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO facts (client_id, type, reference, occurred_at, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (client_id, type, reference) DO NOTHING",
        )?
        .execute(params![
            client_id,
            fact.fact_type,
            fact.reference,
            fact.occurred_at,
            now
        ])?;
    Ok(inserted > 0)
}

/// A client's facts in the order they were recorded (for export).
pub fn all_for_client(conn: &Connection, client_id: &str) -> Result<Vec<Fact>> {
    let facts = conn
        .prepare_cached(
            "SELECT type, reference, occurred_at FROM facts WHERE client_id = ?1 ORDER BY id",
        )?
        .query_map([client_id], |row| {
            Ok(Fact {
                fact_type: row.get(0)?,
                reference: row.get(1)?,
                occurred_at: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(facts)
}

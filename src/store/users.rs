//! Users and their API tokens.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::auth::{self, Permission, Principal, Secret};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A token as listed: everything but the secret.
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub permissions: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Adds a user; `Conflict` when the id is taken.
pub fn add_user(conn: &Connection, id: &str, name: &str, now: Timestamp) -> Result<User> {
    if find_user(conn, id)?.is_some() {
        return Err(Error::Conflict(format!("user {id:?} already exists")));
    }
    conn.execute(
        "INSERT INTO users (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![id, name, now],
    )?;
    Ok(User {
        id: id.into(),
        name: name.into(),
        created_at: now,
    })
}

/// Inserts or renames a user, keeping `created_at` of an existing one.
pub fn put_user(conn: &Connection, id: &str, name: &str, now: Timestamp) -> Result<()> {
    conn.execute(
        "INSERT INTO users (id, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        params![id, name, now],
    )?;
    Ok(())
}

pub fn find_user(conn: &Connection, id: &str) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached("SELECT id, name, created_at FROM users WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(User {
                id: row.get(0)?,
                name: row.get(1)?,
                created_at: row.get(2)?,
            })
        })
        .optional()?)
}

pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare("SELECT id, name, created_at FROM users ORDER BY id")?;
    let users = stmt
        .query_map([], |row| {
            Ok(User {
                id: row.get(0)?,
                name: row.get(1)?,
                created_at: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(users)
}

/// Creates a token for an existing user and returns it with its secret,
/// which is not stored and cannot be shown again.
pub fn create_token(
    conn: &Connection,
    user_id: &str,
    permissions: &[Permission],
    label: Option<&str>,
    now: Timestamp,
) -> Result<(TokenInfo, Secret)> {
    if find_user(conn, user_id)?.is_none() {
        return Err(Error::not_found(format!("no user {user_id:?}")));
    }
    let secret = Secret::generate();
    let info = TokenInfo {
        id: auth::random_id("tok"),
        user_id: user_id.into(),
        label: label.map(str::to_owned),
        permissions: auth::format_permissions(permissions),
        created_at: now,
        revoked_at: None,
    };
    conn.execute(
        "INSERT INTO tokens (id, user_id, label, secret_hash, permissions, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            info.id,
            info.user_id,
            info.label,
            secret.hash(),
            info.permissions,
            info.created_at
        ],
    )?;
    Ok((info, secret))
}

pub fn list_tokens(conn: &Connection) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, user_id, label, permissions, created_at, revoked_at
         FROM tokens ORDER BY created_at, id",
    )?;
    let tokens = stmt
        .query_map([], |row| {
            Ok(TokenInfo {
                id: row.get(0)?,
                user_id: row.get(1)?,
                label: row.get(2)?,
                permissions: row.get(3)?,
                created_at: row.get(4)?,
                revoked_at: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(tokens)
}

/// Revokes a token by id. Revoking twice is harmless.
pub fn revoke_token(conn: &Connection, token_id: &str, now: Timestamp) -> Result<()> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        params![token_id, now],
    )?;
    if changed == 0 {
        return Err(Error::not_found(format!("no token {token_id:?}")));
    }
    Ok(())
}

/// The principal of a live token, or `None` for an unknown or revoked one.
pub fn authenticate(conn: &Connection, secret: &Secret) -> Result<Option<Principal>> {
    let found = conn
        .prepare_cached(
            "SELECT u.id, u.name, t.permissions
             FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.secret_hash = ?1 AND t.revoked_at IS NULL",
        )?
        .query_row([secret.hash()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;

    let Some((user_id, user_name, permissions)) = found else {
        return Ok(None);
    };
    let permissions = auth::parse_permissions(&permissions)
        .map_err(|err| Error::Internal(format!("stored permissions of {user_id}: {err}")))?;
    Ok(Some(Principal {
        user_id,
        user_name,
        permissions,
    }))
}

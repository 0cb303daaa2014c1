use crate::Result;
use sqlx::{AnyConnection, Executor, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct ArtistRequest {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub artist_name: String,
    pub note: String,
    /// `pending`, `approved` or `declined`.
    pub state: String,
    pub created_at: i64,
}

fn request_row(r: sqlx::any::AnyRow) -> ArtistRequest {
    ArtistRequest {
        id: r.get("id"),
        user_id: r.get("user_id"),
        email: r.get("email"),
        artist_name: r.get("artist_name"),
        note: r.get("note"),
        state: r.get("state"),
        created_at: r.get("created_at"),
    }
}

const SELECT: &str = "SELECT r.id, r.user_id, u.email, r.artist_name, r.note, r.state, r.created_at
     FROM artist_requests r JOIN users u ON u.id = r.user_id";

#[tracing::instrument(name = "sql artists.insert", skip_all)]
pub async fn insert<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: &str,
    user_id: &str,
    artist_name: &str,
    note: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO artist_requests (id, user_id, artist_name, note, state, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(artist_name)
    .bind(note)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The account's newest request, if any.
#[tracing::instrument(name = "sql artists.latest_of", skip_all)]
pub async fn latest_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<ArtistRequest>> {
    let row = sqlx::query(&format!(
        "{SELECT} WHERE r.user_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 1"
    ))
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(request_row))
}

#[tracing::instrument(name = "sql artists.pending", skip_all)]
pub async fn pending<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    limit: i64,
) -> Result<Vec<ArtistRequest>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE r.state = 'pending' ORDER BY r.created_at, r.id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(request_row).collect())
}

/// Moves a pending request to `state`; false when it was not pending (decided already).
#[tracing::instrument(name = "sql artists.decide", skip_all)]
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    admin_id: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE artist_requests SET state = $2, decided_at = $4, decided_by = $3
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state)
    .bind(admin_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

#[tracing::instrument(name = "sql artists.by_id", skip_all)]
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<ArtistRequest>> {
    let row = sqlx::query(&format!("{SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(request_row))
}

/// The name of the artist profile an account publishes as.
#[tracing::instrument(name = "sql artists.profile_name", skip_all)]
pub async fn profile_name<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT a.name FROM users u JOIN artists a ON a.id = u.artist_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// The account already linked to artist profile `artist_id`, if any.
#[tracing::instrument(name = "sql artists.account_of_profile", skip_all)]
pub async fn account_of_profile(
    conn: &mut AnyConnection,
    artist_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE artist_id = $1")
            .bind(artist_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Makes a listener an artist linked to `artist_id`; false when the account is no longer
/// a listener.
#[tracing::instrument(name = "sql artists.make_artist", skip_all)]
pub async fn make_artist(conn: &mut AnyConnection, user_id: &str, artist_id: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE users SET role = 'artist', artist_id = $2 WHERE id = $1 AND role = 'listener'",
    )
    .bind(user_id)
    .bind(artist_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

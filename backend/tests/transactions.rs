//! Write transactions on SQLite take the write lock when they begin, so one that reads
//! before it writes never fails at its write because another connection wrote in between
//! ("database is locked", SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::testing::Backend;

#[tokio::test]
async fn a_transaction_that_reads_then_writes_is_not_undone_by_a_write_in_between() {
    let (core, _d) = Backend::Sqlite.core().await;
    let mut tx = backend::db::begin(&core.db).await.unwrap();
    // It reads first: a deferred transaction would take its snapshot here.
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_terms")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // Another connection writes meanwhile. It has to wait for the transaction (told not
    // to wait, it says so at once)...
    let mut other = core.db.acquire().await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *other)
        .await
        .unwrap();
    let in_between = sqlx::query("INSERT INTO search_terms (term) VALUES ('other')")
        .execute(&mut *other)
        .await;
    assert!(in_between.is_err(), "the other writer waits its turn");
    // ... so the transaction's own write and its commit go through.
    sqlx::query("INSERT INTO search_terms (term) VALUES ('mine')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("INSERT INTO search_terms (term) VALUES ('other')")
        .execute(&mut *other)
        .await
        .unwrap();
    sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut *other)
        .await
        .unwrap();
    let terms: Vec<String> = sqlx::query_scalar("SELECT term FROM search_terms ORDER BY term")
        .fetch_all(&core.db)
        .await
        .unwrap();
    assert_eq!(terms, ["mine", "other"]);
}

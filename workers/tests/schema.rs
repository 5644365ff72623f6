//! The migrations and the table descriptors describe the same tables: after every migration
//! has run, each table on PostgreSQL (a database of the test's own at 127.0.0.1:5432) and on
//! SQLite has exactly the descriptor's columns, with its types and nullability, the
//! descriptor's primary key in order, and no table is left without a descriptor.

use optionsflow_testkit::postgres::{TestDatabase, psql};
use optionsflow_workers::sinks::db::Database;
use optionsflow_workers::sinks::schema::{Shape, shapes};
use sqlx::Row;

/// A table as a database reports it: columns (name, declared type, nullable) sorted by
/// name, and the primary key in key order.
#[derive(Debug, PartialEq)]
struct Found {
    columns: Vec<(String, String, bool)>,
    key: Vec<String>,
}

fn expected(shape: &Shape, declared: impl Fn(&Shape, usize) -> String) -> Found {
    let mut columns: Vec<(String, String, bool)> = shape
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, _, nullable))| (name.to_string(), declared(shape, i), *nullable))
        .collect();
    columns.sort();
    Found {
        columns,
        key: shape.key.iter().map(|k| k.to_string()).collect(),
    }
}

fn lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn postgres_migrations_create_the_described_tables() {
    let db = TestDatabase::create("schema");
    let database = Database::open(&db.url).unwrap();
    database.migrate().await.unwrap();
    let tables = psql(
        &db.url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name <> '_sqlx_migrations' ORDER BY 1",
    );
    let mut described: Vec<&str> = shapes().iter().map(|s| s.name).collect();
    described.sort_unstable();
    assert_eq!(tables.lines().collect::<Vec<_>>(), described);
    for shape in shapes() {
        let columns = psql(
            &db.url,
            &format!(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{}' ORDER BY 1",
                shape.name
            ),
        );
        let key = psql(
            &db.url,
            &format!(
                "SELECT a.attname FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = '{}'::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                shape.name
            ),
        );
        let found = Found {
            columns: lines(&columns)
                .into_iter()
                .map(|c| (c[0].clone(), c[1].clone(), c[2] == "YES"))
                .collect(),
            key: key.lines().map(str::to_owned).collect(),
        };
        assert_eq!(
            found,
            expected(&shape, |s, i| s.columns[i].1.postgres().0.to_owned()),
            "PostgreSQL's {} differs from its descriptor",
            shape.name
        );
    }
}

#[tokio::test]
async fn sqlite_migrations_create_the_described_tables() {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::open(dir.path().join("schema.db").to_str().unwrap()).unwrap();
    database.migrate().await.unwrap();
    let Database::Sqlite(lite) = &database else {
        panic!("a path opens SQLite")
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY 1",
    )
    .fetch_all(lite.pool())
    .await
    .unwrap();
    let mut described: Vec<&str> = shapes().iter().map(|s| s.name).collect();
    described.sort_unstable();
    assert_eq!(tables, described);
    for shape in shapes() {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{}')",
            shape.name
        )))
        .fetch_all(lite.pool())
        .await
        .unwrap();
        let mut columns: Vec<(String, String, bool)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) == 0))
            .collect();
        columns.sort();
        let mut key: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| r.get::<i64, _>(3) > 0)
            .map(|r| (r.get(3), r.get(0)))
            .collect();
        key.sort();
        let found = Found {
            columns,
            key: key.into_iter().map(|(_, name)| name).collect(),
        };
        assert_eq!(
            found,
            expected(&shape, |s, i| s.columns[i].1.sqlite().to_owned()),
            "SQLite's {} differs from its descriptor",
            shape.name
        );
    }
}

//! A tiny builder for queries whose filters are present or not, numbering `$n` for us,
//! with the pieces every searched, keyset-paged list shares.
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A parameter of a query.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// SQL text plus its parameters.
#[derive(Default)]
pub struct QueryBuilder<'a> {
    sql: String,
    params: Vec<Param<'a>>,
}

impl<'a> QueryBuilder<'a> {
    /// Starts with `sql` (no placeholders).
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends `fragment`, replacing each `{}` with the placeholder of the next value.
    pub fn push(&mut self, fragment: &str, values: &[Param<'a>]) -> &mut Self {
        let mut values = values.iter();
        let mut pieces = fragment.split("{}").peekable();
        while let Some(piece) = pieces.next() {
            self.sql.push_str(piece);
            if pieces.peek().is_some()
                && let Some(value) = values.next()
            {
                self.params.push(*value);
                self.sql.push_str(&format!("${}", self.params.len()));
            }
        }
        self
    }

    /// Appends `sql` as it is, braces and all (`'{}'` stays a literal).
    pub fn push_text(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends the keyset condition for rows after `after`, then the matching `ORDER BY`
    /// and `LIMIT`.
    pub fn push_keyset(
        &mut self,
        order: &KeysetOrder<'_>,
        after: Option<&'a (String, Uuid)>,
        limit: &'a i64,
    ) -> &mut Self {
        self.push_after(order, after).push_order(order, limit)
    }

    /// Appends the keyset condition for rows after `after` (sort value, id), if any.
    pub fn push_after(
        &mut self,
        order: &KeysetOrder<'_>,
        after: Option<&'a (String, Uuid)>,
    ) -> &mut Self {
        let Some((value, id)) = after else {
            return self;
        };
        let KeysetOrder {
            column,
            cast,
            id_column,
            descending,
        } = order;
        let comparison = if *descending { "<" } else { ">" };
        self.push(
            &format!(" AND ({column}, {id_column}) {comparison} ({cast}, {{}})"),
            &[value, id],
        )
    }

    /// Appends the keyset's `ORDER BY` and a `LIMIT` of `limit` rows.
    pub fn push_order(&mut self, order: &KeysetOrder<'_>, limit: &'a i64) -> &mut Self {
        let KeysetOrder {
            column,
            id_column,
            descending,
            ..
        } = order;
        let direction = if *descending { "DESC" } else { "ASC" };
        self.push(
            &format!(" ORDER BY {column} {direction}, {id_column} {direction} LIMIT {{}}"),
            &[limit],
        )
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters, in placeholder order.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }
}

/// How a keyset-paged list is sorted: by `column`, ties broken by `id_column`.
#[derive(Debug, Clone, Copy)]
pub struct KeysetOrder<'s> {
    /// The (indexed) sort expression, e.g. `lower(display_name)`.
    pub column: &'s str,
    /// Turns a page token's text back into the column's type, e.g. `{}::text` or
    /// `CAST({}::text AS timestamptz)`.
    pub cast: &'s str,
    /// The unique tie-breaker, e.g. `user_id`.
    pub id_column: &'s str,
    /// Descending rather than ascending.
    pub descending: bool,
}

/// Reads a row's columns by name without panicking: a column that is missing or of
/// another type (a schema drift) is an internal error naming the column, logged where it
/// is answered, instead of a panic in the middle of a request.
pub trait Columns {
    /// The value of column `name`.
    fn column<'a, T: FromSql<'a>>(&'a self, name: &str) -> Result<T>;

    /// The value of the column at `index`, for queries whose few columns have no names
    /// worth giving (`SELECT count(*)`, `RETURNING user_id`).
    fn at<'a, T: FromSql<'a>>(&'a self, index: usize) -> Result<T>;
}

impl Columns for Row {
    fn column<'a, T: FromSql<'a>>(&'a self, name: &str) -> Result<T> {
        self.try_get(name)
            .map_err(|e| Error::internal(format!("reading column {name}"), e))
    }

    fn at<'a, T: FromSql<'a>>(&'a self, index: usize) -> Result<T> {
        self.try_get(index)
            .map_err(|e| Error::internal(format!("reading column {index}"), e))
    }
}

/// A `LIKE` pattern matching `text` anywhere, for a lower-cased column: lower-cased, with
/// `%`, `_` and `\` escaped.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let (a, b, c) = (1_i32, "x".to_owned(), 3_i64);
        let mut query = QueryBuilder::new("SELECT 1 WHERE true");
        query
            .push(" AND a = {}", &[&a])
            .push(" AND (b, c) > ({}, {})", &[&b, &c])
            .push(" LIMIT 5", &[]);
        assert_eq!(
            query.sql(),
            "SELECT 1 WHERE true AND a = $1 AND (b, c) > ($2, $3) LIMIT 5"
        );
        assert_eq!(query.params().len(), 3);
    }

    #[test]
    fn keyset_pages_continue_after_the_last_row() {
        let after = ("bob".to_owned(), Uuid::nil());
        let limit = 51_i64;
        let order = KeysetOrder {
            column: "lower(name)",
            cast: "{}::text",
            id_column: "id",
            descending: true,
        };
        let mut query = QueryBuilder::new("SELECT * FROM t WHERE true");
        query.push_keyset(&order, Some(&after), &limit);
        assert_eq!(
            query.sql(),
            "SELECT * FROM t WHERE true AND (lower(name), id) < ($1::text, $2) \
             ORDER BY lower(name) DESC, id DESC LIMIT $3"
        );
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ali_50%"), "%ali\\_50\\%%");
    }
}

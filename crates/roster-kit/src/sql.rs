//! A tiny builder for queries whose filters are present or not, numbering `$n` for us.
use tokio_postgres::types::ToSql;

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

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters, in placeholder order.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }
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
}

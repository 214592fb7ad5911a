//! The URL fragment is the page's state: `#/overview`, `#/browse`,
//! `#/browse/<key hex>`, `#/space`, `#/audit`, `#/compare`, `#/planner?<inputs>` (the
//! sizing planner, whose inputs live here so a plan is shared as a link), and
//! `#/live` (the companion server's view of a cluster). Links set it; back and forward work. Nothing
//! secret is ever put in it (the API token lives in session storage).

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Route {
    #[default]
    Overview,
    Browse {
        key_hex: Option<String>,
    },
    Space,
    Audit,
    /// The open file compared with another.
    Compare,
    /// The planner's inputs, as `PlannerForm::query` writes them.
    Planner {
        query: String,
    },
    Live,
}

/// Which view a route shows: opening another key stays in the same view, so
/// the list, tree and their scroll positions stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum View {
    Overview,
    Browse,
    Space,
    Audit,
    Compare,
    Planner,
    Live,
}

impl Route {
    pub fn view(&self) -> View {
        match self {
            Route::Overview => View::Overview,
            Route::Browse { .. } => View::Browse,
            Route::Space => View::Space,
            Route::Audit => View::Audit,
            Route::Compare => View::Compare,
            Route::Planner { .. } => View::Planner,
            Route::Live => View::Live,
        }
    }

    pub fn parse(hash: &str) -> Self {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        if let Some(rest) = path.strip_prefix("planner")
            && (rest.is_empty() || rest.starts_with('?') || rest.starts_with('/'))
        {
            let query = rest.split_once('?').map_or("", |(_, q)| q);
            return Route::Planner {
                query: query.to_string(),
            };
        }
        let mut parts = path.splitn(2, '/');
        match (parts.next(), parts.next()) {
            // Not hex is kept as it is: the detail view then says the link is
            // invalid instead of showing the key opened before.
            (Some("browse"), Some(k)) if !k.is_empty() => Route::Browse {
                key_hex: Some(k.to_ascii_lowercase()),
            },
            (Some("browse"), _) => Route::Browse { key_hex: None },
            (Some("space"), _) => Route::Space,
            (Some("audit"), _) => Route::Audit,
            (Some("compare"), _) => Route::Compare,
            (Some("live"), _) => Route::Live,
            _ => Route::Overview,
        }
    }

    pub fn href(&self) -> String {
        match self {
            Route::Overview => "#/overview".into(),
            Route::Browse { key_hex: None } => "#/browse".into(),
            Route::Browse { key_hex: Some(k) } => format!("#/browse/{k}"),
            Route::Space => "#/space".into(),
            Route::Audit => "#/audit".into(),
            Route::Compare => "#/compare".into(),
            Route::Planner { query } if query.is_empty() => "#/planner".into(),
            Route::Planner { query } => format!("#/planner?{query}"),
            Route::Live => "#/live".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for r in [
            Route::Overview,
            Route::Browse { key_hex: None },
            Route::Browse {
                key_hex: Some("2f6b".into()),
            },
            Route::Space,
            Route::Audit,
            Route::Compare,
            Route::Planner {
                query: String::new(),
            },
            Route::Planner {
                query: "members=5&zones=a%3D2%2Cb%3D2%2Cc%3D1".into(),
            },
            Route::Live,
        ] {
            assert_eq!(Route::parse(&r.href()), r);
        }
        assert_eq!(Route::parse(""), Route::Overview);
        assert_eq!(Route::parse("#/live/"), Route::Live);
        assert_eq!(Route::Live.view(), View::Live);
        assert_eq!(
            Route::parse("#/planner/?rtt-ms=5"),
            Route::Planner {
                query: "rtt-ms=5".into()
            }
        );
        assert_eq!(Route::parse("#/plannerx"), Route::Overview);
        assert_eq!(
            Route::parse("#/browse/zzzz"),
            Route::Browse {
                key_hex: Some("zzzz".into())
            },
            "a bad link reaches the detail view, which says so"
        );
    }
}

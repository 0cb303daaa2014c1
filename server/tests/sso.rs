//! Single sign-on through the real router, against the real OpenID Connect provider
//! (scripts/services.sh): connecting a sign-in to the signed-in account is a POST from
//! this site (Settings' Connect form); a GET that asks for it, or a POST from another
//! site, starts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::testing::{Backend, oidc_provider, sign_in_at_provider, unique};
use reqwest::StatusCode;
use server_fn::ServerFn;

mod common;
use common::*;

async fn count(srv: &Srv, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&srv.core.db)
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn connecting_a_sign_in_takes_a_post_from_this_site(b: Backend) {
    let srv = start_with(b, |c| c.sso.providers = vec![oidc_provider()]).await;
    let issuer = oidc_provider().issuer;
    let c = client();
    signup(&c, &srv, "connect@example.com").await;
    let flows = "SELECT COUNT(*) FROM sso_flows";
    let identities = "SELECT COUNT(*) FROM user_identities";

    // A GET asking to connect (a link or an <img> on another site, an old bookmark)
    // starts nothing: back to Settings with the reason.
    let r = c
        .get(format!("{}/sso/start?provider=oidc&connect=true", srv.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with("/settings?sso_error=1"), "{to}");
    // Nor does a GET of the connect endpoint itself.
    let r = c
        .get(format!(
            "{}{}?provider=oidc",
            srv.base,
            app::auth::sso::SsoConnect::PATH
        ))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(!location(&r).starts_with(&issuer), "{}", location(&r));
    assert_eq!(count(&srv, flows).await, 0);

    // A POST from another site is refused.
    let connect = format!("{}{}", srv.base, app::auth::sso::SsoConnect::PATH);
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = c
            .post(&connect)
            .header(name, value)
            .header("accept", "text/html")
            .form(&[("provider", "oidc")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    assert_eq!(count(&srv, flows).await, 0);

    // Pages let a form's answer send the browser on to the provider.
    let r = c
        .get(format!("{}/settings", srv.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {issuer};")),
        "{csp}"
    );

    // Settings' form, posted from this site without JavaScript: off to the provider, and
    // back with the sign-in connected to this account.
    let r = c
        .post(&connect)
        .header("origin", srv.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html")
        .form(&[("provider", "oidc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with(&format!("{issuer}/")), "{to}");
    assert_eq!(count(&srv, flows).await, 1);
    let callback = format!("{}/sso/callback", srv.core.config.public_url());
    let who = format!("connect-{}", &unique()[..12]);
    let back = sign_in_at_provider(&to, &who, false, &callback).await;
    let query: Vec<(&str, &str)> = back.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c
        .get(format!("{}/sso/callback", srv.base))
        .query(&query)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(to.starts_with("/settings?linked=Test"), "{to}");
    assert_eq!(count(&srv, identities).await, 1);
}

backend::on_both_databases!(connecting_a_sign_in_takes_a_post_from_this_site);

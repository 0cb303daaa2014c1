-- Whether a linked sign-in was vouched for when it was linked, so that recovering an
-- account (a password reset) or confirming its address drops the sign-ins someone else
-- may have linked before the owner proved the address was theirs.
-- `email_verified`: the provider said it verified the address the identity came with.
-- `account_verified`: the account's own address was verified at the time.
-- A reset or a verification drops identities with email_verified = 0, and those with
-- account_verified = 0 whose address is not the account's own.
ALTER TABLE user_identities ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_identities ADD COLUMN account_verified BIGINT NOT NULL DEFAULT 0;
-- Existing rows. The account's own address was verified at link time when it was
-- verified no later than the link (an address changed since then counts as not: the
-- cautious side). Whether the provider verified the address was not recorded: before this
-- migration every link required it except an account made by a sign-in, and a sign-in
-- connected from Settings by the signed-in account holder. The first can be told: the
-- identity came with its account (same address, linked within a minute of the account's
-- creation) and the account was not verified when it was made, which only an unverified
-- address leaves; those rows are unverified. The rest cannot be told and count as
-- verified (they were linked by someone signed in to the account, or by its password).
UPDATE user_identities SET
    account_verified = CASE WHEN EXISTS (
        SELECT 1 FROM users u
        WHERE u.id = user_identities.user_id
          AND u.email_verified_at IS NOT NULL
          AND u.email_verified_at <= user_identities.created_at
    ) THEN 1 ELSE 0 END,
    email_verified = CASE WHEN EXISTS (
        SELECT 1 FROM users u
        WHERE u.id = user_identities.user_id
          AND u.email = user_identities.email
          AND user_identities.created_at - u.created_at BETWEEN 0 AND 60000
          AND (u.email_verified_at IS NULL OR u.email_verified_at > u.created_at)
    ) THEN 0 ELSE 1 END;

-- Only a hash of each unsubscribe token is kept (api/email/unsubscribe.ts): links in mail already sent keep working, as their token is hashed and looked up. sha256() is built in (PostgreSQL 11+, PGlite), not pgcrypto.
ALTER TABLE "unsubscribe_tokens" RENAME COLUMN "token" TO "token_hash";--> statement-breakpoint
UPDATE "unsubscribe_tokens" SET "token_hash" = encode(sha256(convert_to("token_hash", 'UTF8')), 'hex');--> statement-breakpoint
-- Each message gets its own token now: several rows may share an address and campaign.
DROP INDEX "unsubscribe_tokens_email_campaign";

-- Deals by contact, newest first: the campaign page shows each recipient's open or latest deal, and the contact page lists a contact's deals; both read every deal before (deals_one_open_per_contact holds open deals only).
CREATE INDEX "deals_contact_idx" ON "deals" USING btree ("contact_id","created_at");

-- source: AWS, Amazon Redshift Database Developer Guide, "Literals" / "Examples with character
--   types" (https://docs.aws.amazon.com/redshift/latest/dg/r_Literals.html): Redshift reads a
--   backslash in a string literal as an escape ('\\' is one backslash, '\'' a quote, '\t' a tab),
--   as PostgreSQL 8.0 did; PostgreSQL 15 does so only in E'…'. AWS, "QUOTE_LITERAL function"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html): it "doubles any
--   embedded single quotation marks and backslashes", which only a reading where a backslash
--   escapes needs. Corroborated by TableProApp/TablePro#1441 ("fix(redshift): use a
--   non-backslash LIKE escape").
create table literal_values (id int, s varchar(40));
insert into literal_values values (1, 'a\\b'), (2, 'it\'s');
insert into literal_values values (3, 'tab\there');
insert into literal_values values (4, 'line\nbreak'), (5, 'C:\\temp\\new');
insert into literal_values (id, s) select 6, 'pipe\174' where 'x\\y' like 'x\\\\y';

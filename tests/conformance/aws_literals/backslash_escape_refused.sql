-- source: AWS, Amazon Redshift Database Developer Guide, "Literals"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_Literals.html). '\d' is an escape lode
--   cannot vouch for (PostgreSQL's E'…' and Redshift may read \x, \u, \d differently): the
--   script stops at that statement naming its line and the literal; what came before stays.
-- refuse: 8 backslash escape in the string literal '\d+'
create table literal_refused (id int, s varchar(40));
insert into literal_refused values (1, 'before');
insert into literal_refused values (2, '\d+');
insert into literal_refused values (3, 'after');

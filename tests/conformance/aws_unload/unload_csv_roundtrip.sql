-- source: AWS, Amazon Redshift Database Developer Guide, "UNLOAD examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD_command_examples.html):
--   "Unload VENUE to a CSV file" (FORMAT AS CSV, PARALLEL OFF), reloaded with COPY … CSV.
--   (No NULL in a character column: without NULL AS, Redshift unloads it as an empty field,
--   and this case does not assert how COPY reads that back.)
create table venue_src (id int, name varchar(40), d date);
insert into venue_src values (1, 'quote " and, comma', '2024-01-01'), (2, 'pipe | and \\ backslash', null),
  (3, '', '2024-03-03'), (4, 'four', '2024-04-04');

unload ('select * from venue_src')
to 's3://lode-conformance/unload/venue_'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
format as csv
parallel off;

create table venue_back (like venue_src);

copy venue_back from 's3://lode-conformance/unload/venue_000'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
csv;

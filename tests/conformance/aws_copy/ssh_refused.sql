-- source: AWS, Amazon Redshift Database Developer Guide, "Loading data from remote hosts",
--   step "Run the COPY command to load the data"
--   (https://docs.aws.amazon.com/redshift/latest/dg/load-from-host-steps-run-copy.html):
--   COPY … SSH with an SSH manifest in S3. Not emulated: the statements before it run, the
--   COPY fails at its line naming SSH, nothing after it runs.
-- refuse: 10 COPY … SSH
create table sales (salesid integer, qtysold smallint);
insert into sales values (1, 2);

copy sales
from 's3://lode-conformance/ssh/ssh_manifest'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|'
ssh;

insert into sales values (99, 99);

-- source: AWS, Amazon Redshift Database Developer Guide, "ALTER TABLE APPEND" examples
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_APPEND.html): moving the rows
--   of a staging table into SALES. Not emulated: fails at the statement naming the feature.
-- refuse: 10 ALTER TABLE … APPEND FROM
create table sales (salesid integer, qtysold smallint);
create table sales_stage (salesid integer, qtysold smallint);
insert into sales values (1, 2);
insert into sales_stage values (2, 4), (3, 6);

alter table sales append from sales_stage;
delete from sales;

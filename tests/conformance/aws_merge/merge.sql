-- source: AWS, Amazon Redshift Database Developer Guide, "MERGE" examples
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_MERGE.html): target/source tables,
--   MERGE … WHEN MATCHED THEN UPDATE … WHEN NOT MATCHED THEN INSERT, and
--   WHEN MATCHED THEN DELETE.
CREATE TABLE target (id INT, name CHAR(10));
CREATE TABLE source (id INT, name CHAR(10));

INSERT INTO target VALUES (101, 'Bob'), (102, 'John'), (103, 'Susan');
INSERT INTO source VALUES (102, 'Charlie'), (103, 'David'), (104, 'Eve');

MERGE INTO target USING source ON target.id = source.id
WHEN MATCHED THEN UPDATE SET id = source.id, name = source.name
WHEN NOT MATCHED THEN INSERT VALUES (source.id, source.name);

CREATE TABLE target2 (id INT, name CHAR(10));
INSERT INTO target2 VALUES (101, 'Bob'), (102, 'John'), (103, 'Susan');

MERGE INTO target2 USING source ON target2.id = source.id
WHEN MATCHED THEN UPDATE SET name = source.name
WHEN NOT MATCHED THEN INSERT VALUES (source.id, source.name);

DELETE FROM target2 WHERE id NOT IN (SELECT id FROM source);
DELETE FROM target2 WHERE id = 104;

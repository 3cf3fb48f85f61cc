-- A job for the sqlite3 CLI (tests/preload/run.sh): tables, indexes, joins,
-- aggregates, JSON and a rewrite. Deterministic, in memory.
create table customer (id integer primary key, name text, region text);
create table orders (id integer primary key, customer integer, amount integer, note text);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)
insert into customer select i, 'customer ' || i, char(65 + i % 7) from n;
with recursive n(i) as (select 1 union all select i + 1 from n where i < 60000)
insert into orders select i, 1 + (i * 7919) % 5000, (i * 104729) % 1000, hex(randomblob(0) || i) from n;
create index orders_customer on orders(customer);
create index orders_amount on orders(amount);
select region, count(*), sum(amount), max(amount) from orders join customer on customer.id = orders.customer
  group by region order by region;
select json_group_array(json_object('id', id, 'amount', amount)) from (select id, amount from orders order by amount desc, id limit 5);
update orders set note = upper(note) || '-' || amount where amount % 3 = 0;
delete from orders where amount < 100;
select count(*), sum(length(note)) from orders;
select name, total from (select customer, sum(amount) as total from orders group by customer)
  join customer on customer.id = customer order by total desc, name limit 5;

//! The pure half of the adapter: a block's header fields and its receipts' logs in, the
//! extension's [`Block`] out. Nothing here names a reth type, so it is unit-tested without a node
//! (and without reth, which this repository cannot fetch).

use alloy_primitives::{Address, Log, B256};
use routing_exex::{Block, Chain, LogEntry, SourceError};

/// Builds the extension's view of one block.
///
/// `txs` yields, for every transaction of the block in block order, its hash, its index in the
/// block and the logs of its receipt. Give **all** logs, not only the settlement contract's: a
/// log's index in the block (`log_index`, as in `eth_getLogs`) counts every log emitted before it
/// in the block, whichever contract emitted it. Only the logs emitted by `settlement` are kept.
pub fn block_from_parts<'a, I, L>(
    number: u64,
    hash: B256,
    parent_hash: B256,
    timestamp: u64,
    settlement: Address,
    txs: I,
) -> Block
where
    I: IntoIterator<Item = (B256, u64, L)>,
    L: IntoIterator<Item = &'a Log>,
{
    let mut logs = Vec::new();
    let mut log_index = 0u64;
    for (transaction_hash, transaction_index, receipt_logs) in txs {
        for log in receipt_logs {
            if log.address == settlement {
                logs.push(LogEntry {
                    address: log.address,
                    topics: log.data.topics().to_vec(),
                    data: log.data.data.clone(),
                    transaction_hash,
                    transaction_index,
                    log_index,
                });
            }
            log_index += 1;
        }
    }
    Block { number, hash, parent_hash, timestamp, logs }
}

/// Turns the converted blocks of one reth chain segment (oldest first) into the extension's
/// [`Chain`], which checks that they are consecutive and not empty.
pub fn chain_from_blocks(blocks: Vec<Block>) -> Result<Chain, SourceError> {
    let range = match (blocks.first(), blocks.last()) {
        (Some(first), Some(last)) => format!("{}..={}", first.number, last.number),
        _ => "(empty)".to_owned(),
    };
    Chain::new(blocks).map_err(|e| SourceError(format!("reth chain segment {range}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, Bytes, LogData};

    const SETTLEMENT: Address = address!("00000000000000000000000000000000000000a1");
    const OTHER: Address = address!("00000000000000000000000000000000000000b2");

    fn log(address: Address, topic: u8, data: &'static [u8]) -> Log {
        Log {
            address,
            data: LogData::new_unchecked(vec![B256::repeat_byte(topic)], Bytes::from_static(data)),
        }
    }

    fn tx_hash(i: u8) -> B256 {
        B256::repeat_byte(0xf0 | i)
    }

    #[test]
    fn keeps_only_settlement_logs_with_block_level_log_index() {
        // tx 0: other, settlement, other; tx 1: no logs; tx 2: settlement, other, settlement
        let receipts = [
            vec![log(OTHER, 1, b"a"), log(SETTLEMENT, 2, b"b"), log(OTHER, 3, b"c")],
            vec![],
            vec![log(SETTLEMENT, 4, b"d"), log(OTHER, 5, b"e"), log(SETTLEMENT, 6, b"f")],
        ];
        let block = block_from_parts(
            7,
            B256::repeat_byte(7),
            B256::repeat_byte(6),
            1_700_000_000,
            SETTLEMENT,
            receipts.iter().enumerate().map(|(i, logs)| (tx_hash(i as u8), i as u64, logs)),
        );

        let got: Vec<_> = block
            .logs
            .iter()
            .map(|l| (l.transaction_hash, l.transaction_index, l.log_index, l.topics[0]))
            .collect();
        assert_eq!(
            got,
            vec![
                (tx_hash(0), 0, 1, B256::repeat_byte(2)),
                (tx_hash(2), 2, 3, B256::repeat_byte(4)),
                (tx_hash(2), 2, 5, B256::repeat_byte(6)),
            ]
        );
        assert!(block.logs.iter().all(|l| l.address == SETTLEMENT));
        assert_eq!(block.logs[0].data, Bytes::from_static(b"b"));
        assert_eq!(block.logs[2].data, Bytes::from_static(b"f"));
    }

    #[test]
    fn copies_header_fields_and_keeps_empty_blocks() {
        let hash = b256!("1111111111111111111111111111111111111111111111111111111111111111");
        let parent = b256!("2222222222222222222222222222222222222222222222222222222222222222");
        let no_txs: Vec<(B256, u64, &[Log])> = Vec::new();
        let block = block_from_parts(42, hash, parent, 99, SETTLEMENT, no_txs);
        assert_eq!(
            block,
            Block { number: 42, hash, parent_hash: parent, timestamp: 99, logs: vec![] }
        );
        assert_eq!(block.parent_ref().number, 41);
    }

    #[test]
    fn keeps_every_topic_and_the_data() {
        let full = Log {
            address: SETTLEMENT,
            data: LogData::new_unchecked(
                vec![B256::repeat_byte(1), B256::repeat_byte(2), B256::repeat_byte(3)],
                Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
            ),
        };
        let block = block_from_parts(
            1,
            B256::repeat_byte(1),
            B256::ZERO,
            0,
            SETTLEMENT,
            [(tx_hash(0), 0u64, [full.clone()].iter())],
        );
        assert_eq!(block.logs.len(), 1);
        assert_eq!(block.logs[0].topics, full.data.topics().to_vec());
        assert_eq!(block.logs[0].data, full.data.data);
    }

    #[test]
    fn another_contract_is_not_the_settlement_contract() {
        let receipts = [vec![log(OTHER, 1, b""), log(OTHER, 2, b"")]];
        let block = block_from_parts(
            3,
            B256::repeat_byte(3),
            B256::repeat_byte(2),
            0,
            SETTLEMENT,
            receipts.iter().enumerate().map(|(i, logs)| (tx_hash(i as u8), i as u64, logs)),
        );
        assert!(block.logs.is_empty());
    }

    fn bare(number: u64, hash: u8, parent: u8) -> Block {
        block_from_parts(
            number,
            B256::repeat_byte(hash),
            B256::repeat_byte(parent),
            number,
            SETTLEMENT,
            Vec::<(B256, u64, &[Log])>::new(),
        )
    }

    #[test]
    fn chain_from_consecutive_blocks() {
        let chain = chain_from_blocks(vec![bare(5, 5, 4), bare(6, 6, 5), bare(7, 7, 6)]).unwrap();
        assert_eq!(chain.first().number, 5);
        assert_eq!(chain.tip().number, 7);
        assert_eq!(chain.fork_point().hash, B256::repeat_byte(4));
    }

    #[test]
    fn chain_refuses_gaps_wrong_parents_and_emptiness() {
        let gap = chain_from_blocks(vec![bare(5, 5, 4), bare(7, 7, 5)]).unwrap_err();
        assert!(gap.0.contains("5..=7"), "{gap}");
        let wrong_parent = chain_from_blocks(vec![bare(5, 5, 4), bare(6, 6, 9)]).unwrap_err();
        assert!(wrong_parent.0.contains("block 6"), "{wrong_parent}");
        let empty = chain_from_blocks(vec![]).unwrap_err();
        assert!(empty.0.contains("(empty)"), "{empty}");
    }
}

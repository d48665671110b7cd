"""Guardians' requests about their child's data (開示・訂正・利用停止, portability), the queue
staff answer within the statutory period, and the disclosure package."""
